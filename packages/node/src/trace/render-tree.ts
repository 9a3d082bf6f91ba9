/**
 * Text rendering of a trace for terminals (the `govchain trace` command) and logs: the upstream
 * chain towards the origins, the traced lot, and the downstream tree to every destination
 * (S4.7), each lot with its stages. Pure: takes the JSON a `/v1/trace` page returns (or several
 * pages merged with `mergeTracePages`) and returns a string, so the CLI stays a thin wrapper.
 */
import type { TraceEdge, TraceNode, TraceResult, TraceStep } from "./trace-query.js";

/** Options of `renderTraceTree`. */
export interface RenderTraceOptions {
  /** Which stages to show per lot: every one returned (default), only the latest, or none. */
  readonly steps?: "all" | "last" | "none";
  /** Draw with ASCII (`|-`, `` `- ``) instead of box-drawing characters. */
  readonly ascii?: boolean;
}

interface Glyphs {
  readonly branch: string;
  readonly last: string;
  readonly pipe: string;
  readonly blank: string;
}

const BOX: Glyphs = { branch: "├─ ", last: "└─ ", pipe: "│  ", blank: "   " };
const ASCII: Glyphs = { branch: "|- ", last: "`- ", pipe: "|  ", blank: "   " };

/** `(01)gtin(10)lot`: the human-readable GS1 element string of a lot. */
export function lotLabel(gtin: string, lot: string): string {
  return `(01)${gtin}(10)${lot}`;
}

/**
 * Joins consecutive pages of one trace (as fetched by following `page.next`) into one result:
 * nodes and edges in order (edges deduplicated), locations united, paging of the last page.
 */
export function mergeTracePages(pages: readonly TraceResult[]): TraceResult {
  const first = pages[0];
  if (!first) throw new RangeError("mergeTracePages needs at least one page");
  const last = pages[pages.length - 1] ?? first;
  const edges: TraceEdge[] = [];
  const seen = new Set<string>();
  for (const page of pages)
    for (const edge of page.edges) {
      const id = `${edge.from}>${edge.to}`;
      if (!seen.has(id)) {
        seen.add(id);
        edges.push(edge);
      }
    }
  const nodes = pages.flatMap((p) => p.nodes);
  return {
    ...first,
    nodes,
    edges,
    locations: Object.assign({}, ...pages.map((p) => p.locations)),
    page: { ...last.page, offset: first.page.offset, count: nodes.length },
  };
}

function quantityText(node: TraceNode): string {
  if (node.quantity === undefined || node.unit === undefined) return "";
  const initial =
    node.initialQuantity !== undefined && node.initialQuantity !== node.quantity
      ? ` (of ${node.initialQuantity})`
      : "";
  return `${node.quantity} ${node.unit}${initial}`;
}

function placeText(gln: string | null | undefined, result: TraceResult): string {
  if (gln === null || gln === undefined) return "-";
  const location = result.locations[gln];
  return location ? `${gln} ${location.name}` : gln;
}

function nodeLine(node: TraceNode, result: TraceResult): string {
  const label = lotLabel(node.gtin, node.lot);
  if (node.missing) return `${label}  [record missing]`;
  const parts = [
    node.product ? `${node.product.name} (${node.product.productType})` : undefined,
    quantityText(node),
    node.status,
    node.ownerOrg !== undefined
      ? node.ownerOrg === node.custodianOrg
        ? `held by ${node.ownerOrg}`
        : `owned by ${node.ownerOrg}, held by ${node.custodianOrg ?? "?"}`
      : undefined,
    node.gs1 ? `at ${placeText(node.gs1.location, result)}` : undefined,
    node.gs1?.dir_location ? `bound for ${placeText(node.gs1.dir_location, result)}` : undefined,
  ].filter((p): p is string => p !== undefined && p !== "");
  return `${label}  ${parts.join(" · ")}`;
}

function stepLine(step: TraceStep, result: TraceResult): string {
  const amount = step.amount !== undefined ? ` ${step.amount}` : "";
  const counterpart = step.counterpart !== undefined ? ` ↔ ${step.counterpart}` : "";
  const note = step.note !== undefined ? ` "${step.note}"` : "";
  return [
    step.time.replace(".000Z", "Z"),
    `${step.action}${amount}`.padEnd(18),
    `${step.organisationId}${counterpart}`.padEnd(24),
    `@ ${placeText(step.location, result)}`,
    `· tx ${step.transactionId.slice(0, 12)}… block ${step.blockHeight}${note}`,
  ].join("  ");
}

function stepsOf(node: TraceNode, options: RenderTraceOptions): readonly TraceStep[] {
  const mode = options.steps ?? "all";
  if (mode === "none") return [];
  if (mode === "last") return node.steps.slice(-1);
  return node.steps;
}

function renderNode(
  node: TraceNode,
  result: TraceResult,
  options: RenderTraceOptions,
  lead: string,
  connector: string,
  childIndent: string,
  out: string[],
): void {
  out.push(`${lead}${connector}${nodeLine(node, result)}`);
  const steps = stepsOf(node, options);
  const omitted = node.stepsOmitted + node.stepsLost + (node.steps.length - steps.length);
  if (omitted > 0) out.push(`${lead}${childIndent}  … ${omitted} earlier stage(s) not shown`);
  for (const step of steps) out.push(`${lead}${childIndent}  ${stepLine(step, result)}`);
}

function renderSection(
  nodes: readonly TraceNode[],
  rootKey: string,
  result: TraceResult,
  options: RenderTraceOptions,
  out: string[],
): void {
  const g = options.ascii ? ASCII : BOX;
  const keys = new Set(nodes.map((n) => n.key));
  const children = new Map<string, TraceNode[]>();
  const roots: TraceNode[] = [];
  for (const node of nodes) {
    const parent = node.via;
    // A lot whose parent is the origin or on another page starts a top-level branch.
    if (parent === undefined || parent === rootKey || !keys.has(parent)) roots.push(node);
    else children.set(parent, [...(children.get(parent) ?? []), node]);
  }
  const draw = (list: readonly TraceNode[], lead: string): void => {
    list.forEach((node, i) => {
      const isLast = i === list.length - 1;
      const indent = isLast ? g.blank : g.pipe;
      renderNode(node, result, options, lead, isLast ? g.last : g.branch, indent, out);
      draw(children.get(node.key) ?? [], lead + indent);
    });
  };
  draw(roots, "  ");
}

/**
 * The trace as text: a header, the upstream chain, the traced lot, the downstream tree, and a
 * footer saying whether more pages follow.
 */
export function renderTraceTree(result: TraceResult, options: RenderTraceOptions = {}): string {
  const out: string[] = [];
  const originNode = result.nodes.find((n) => n.relation === "origin");
  const upstream = result.nodes.filter((n) => n.relation === "upstream");
  const downstream = result.nodes.filter((n) => n.relation === "downstream");
  out.push(`Trace of ${lotLabel(result.origin.gtin, result.origin.lot)}`);
  out.push(
    `state root ${result.stateRoot.slice(0, 16)}… · ${result.nodes.length} lot(s) · ${result.edges.length} link(s)`,
  );
  if (result.direction !== "down") {
    out.push("", "Upstream (towards the origin)");
    if (upstream.length === 0)
      out.push(
        result.page.offset === 0
          ? "  (none: the traced lot is an origin)"
          : "  (on an earlier page)",
      );
    else renderSection(upstream, result.origin.key, result, options, out);
  }
  out.push("", "Traced lot");
  if (originNode) renderNode(originNode, result, options, "  ", "▶ ", "  ", out);
  else out.push("  (on an earlier page)");
  if (result.direction !== "up") {
    out.push("", "Downstream (to every destination)");
    if (downstream.length === 0)
      out.push(
        result.page.complete && result.page.offset === 0
          ? "  (none: the lot has not moved on)"
          : "  (none on this page)",
      );
    else renderSection(downstream, result.origin.key, result, options, out);
  }
  out.push("");
  out.push(
    result.page.complete
      ? "End of trace."
      : `More lots follow: continue with cursor ${result.page.next ?? "?"}`,
  );
  return `${out.join("\n")}\n`;
}
