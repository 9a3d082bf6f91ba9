/**
 * The deployment files, checked without a Docker engine or a cluster: the Kubernetes manifests
 * and docker-compose.yml parse, hang together (selectors match labels, named ports and volumes
 * exist, probes ask /v1/status), and every `govchain` flag they pass is one the CLI accepts. The
 * `network init --hosts …` commands they rely on produce endpoints that match the service
 * names and ports the manifests declare. The image itself is not built here.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/main.js";
import { parseGenesis } from "../../src/genesis/genesis.js";
import { runCli, tempDir } from "./run-cli.js";

const ROOT = resolve(fileURLToPath(new URL("../../../..", import.meta.url)));
const K8S = join(ROOT, "deploy/k8s");

/** The `--hosts` value docs/deployment.md gives for the StatefulSet. */
const K8S_HOSTS = [0, 1, 2, 3].map((i) => `govchain-${i}.govchain:8800`).join(",");

type Doc = Record<string, unknown>;

/** Loose access into parsed YAML: tests fail with a clear message when a path is missing. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") {
      throw new Error(`no ${path.join(".")} (stopped at ${String(key)})`);
    }
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
const list = (value: unknown): Doc[] => (Array.isArray(value) ? (value as Doc[]) : []);
const record = (value: unknown): Record<string, string> =>
  value !== null && typeof value === "object" ? (value as Record<string, string>) : {};

function readYaml(path: string): Doc[] {
  // Merge keys (`<<: *node`) as Compose reads them.
  const docs = parseAllDocuments(readFileSync(path, "utf8"), { merge: true });
  return docs.map((doc) => {
    expect(doc.errors, `${path}: ${doc.errors.map((e) => e.message).join("; ")}`).toEqual([]);
    return doc.toJS() as Doc;
  });
}

/** True when every label the selector asks for is on `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return (
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
  );
}

/** The long option names of `govchain <group> <command>`. */
function optionsOf(group: string, command: string): Set<string> {
  const program = buildProgram(
    createCliContext({
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: {},
      cwd: ROOT,
      ownsProcess: false,
    }),
    false,
  );
  const find = (parent: Command, name: string): Command => {
    const found = parent.commands.find((c) => c.name() === name);
    if (!found) throw new Error(`no command ${name}`);
    return found;
  };
  const cmd = find(find(program, group), command);
  return new Set(cmd.options.map((o) => o.long ?? ""));
}

/** `--flags` in a command line (argv array or shell string). */
function flagsIn(command: string | readonly string[]): string[] {
  const text = typeof command === "string" ? command : command.join(" ");
  return [...text.matchAll(/(?<=^|\s)(--[a-z0-9-]+)/g)].map((m) => m[1] ?? "");
}

describe("Kubernetes manifests (deploy/k8s)", () => {
  const kustomization = readYaml(join(K8S, "kustomization.yaml"))[0] ?? {};
  const resources = list(kustomization.resources) as unknown as string[];
  const docs = resources.flatMap((file) => readYaml(join(K8S, file)));
  const byKind = (kind: string): Doc[] => docs.filter((d) => d.kind === kind);
  const statefulSet = byKind("StatefulSet")[0] ?? {};
  const pod = at(statefulSet, "spec", "template", "spec") as Doc;
  const podLabels = record(at(statefulSet, "spec", "template", "metadata", "labels"));
  const containers = list(pod.containers);
  const initContainers = list(pod.initContainers);
  const node = containers[0] ?? {};

  it("lists the resources a validator set needs", () => {
    expect(docs.map((d) => d.kind).sort()).toEqual([
      "Namespace",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "StatefulSet",
    ]);
    for (const d of docs) {
      expect(d.apiVersion, String(d.kind)).toMatch(
        /^(v1|apps\/v1|policy\/v1|networking\.k8s\.io\/v1)$/,
      );
      expect(at(d, "metadata", "name"), String(d.kind)).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it("runs four replicas behind a headless service, selecting its own pods", () => {
    expect(at(statefulSet, "spec", "replicas")).toBe(4);
    expect(at(statefulSet, "spec", "podManagementPolicy")).toBe("Parallel");
    expect(selects(record(at(statefulSet, "spec", "selector", "matchLabels")), podLabels)).toBe(
      true,
    );
    const headless = byKind("Service").find(
      (s) => at(s, "metadata", "name") === at(statefulSet, "spec", "serviceName"),
    );
    expect(headless, "serviceName names a Service").toBeDefined();
    expect(at(headless, "spec", "clusterIP")).toBe("None");
    expect(at(headless, "spec", "publishNotReadyAddresses")).toBe(true);
    for (const service of byKind("Service")) {
      expect(selects(record(at(service, "spec", "selector")), podLabels)).toBe(true);
    }
    const pdb = byKind("PodDisruptionBudget")[0];
    expect(selects(record(at(pdb, "spec", "selector", "matchLabels")), podLabels)).toBe(true);
    expect(at(pdb, "spec", "maxUnavailable")).toBe(1);
    const policy = byKind("NetworkPolicy")[0];
    expect(selects(record(at(policy, "spec", "podSelector", "matchLabels")), podLabels)).toBe(true);
  });

  it("names its ports consistently and probes /v1/status", () => {
    const ports = new Map(
      list(node.ports).map((p) => [String(p.name), Number(p.containerPort)] as const),
    );
    expect(Object.fromEntries(ports)).toEqual({ api: 8008, p2p: 8800 });
    for (const service of byKind("Service")) {
      for (const port of list(at(service, "spec", "ports"))) {
        expect(ports.get(String(port.targetPort)), `${String(port.name)} targetPort`).toBe(
          port.port,
        );
      }
    }
    for (const rule of list(at(byKind("NetworkPolicy")[0], "spec", "ingress"))) {
      for (const port of list(rule.ports)) expect(ports.has(String(port.port))).toBe(true);
    }
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(at(node, probe, "httpGet", "path"), probe).toBe("/v1/status");
      expect(ports.has(String(at(node, probe, "httpGet", "port"))), probe).toBe(true);
    }
  });

  it("mounts only volumes that exist, with genesis from a ConfigMap and keys from a Secret", () => {
    const volumes = new Map(list(pod.volumes).map((v) => [String(v.name), v] as const));
    const claims = new Set(
      list(at(statefulSet, "spec", "volumeClaimTemplates")).map((c) =>
        String(at(c, "metadata", "name")),
      ),
    );
    for (const container of [...initContainers, ...containers]) {
      for (const mount of list(container.volumeMounts)) {
        const name = String(mount.name);
        expect(
          volumes.has(name) || claims.has(name),
          `${String(container.name)} mounts ${name}`,
        ).toBe(true);
      }
    }
    expect(at(volumes.get("genesis"), "configMap", "name")).toBe("govchain-genesis");
    expect(at(volumes.get("keys"), "secret", "secretName")).toBe("govchain-validator-keys");
    expect(claims).toEqual(new Set(["data"]));
    // The node container never mounts the Secret holding every validator's key.
    expect(list(node.volumeMounts).map((m) => m.name)).not.toContain("keys");
    const dataMount = list(node.volumeMounts).find((m) => m.name === "data");
    expect(at(dataMount, "mountPath")).toBe("/var/lib/govchain");
    expect(at(pod, "securityContext", "runAsNonRoot")).toBe(true);
    expect(at(pod, "automountServiceAccountToken")).toBe(false);
  });

  it("starts the node with flags the CLI knows, its key where the init container puts it", () => {
    const args = String((node.args as unknown[])[0]);
    expect(args).toContain("govchain.js node start");
    const known = optionsOf("node", "start");
    for (const flag of flagsIn(args)) expect(known.has(flag), flag).toBe(true);
    expect(args).toMatch(/--node-id "node\$\{HOSTNAME##\*-\}"/);
    const keyArg = /--key (\S+)/.exec(args)?.[1] ?? "";
    const keyMount = list(node.volumeMounts).find((m) =>
      keyArg.startsWith(`${String(m.mountPath)}/`),
    );
    expect(keyMount?.name).toBe("node-key");
    const copy = String((initContainers[0]?.args as unknown[] | undefined)?.[0]);
    expect(copy).toContain(`/node-key/${keyArg.split("/").at(-1)}`);
    const genesisArg = /--genesis (\S+)/.exec(args)?.[1] ?? "";
    expect(
      list(node.volumeMounts).some((m) => genesisArg.startsWith(`${String(m.mountPath)}/`)),
    ).toBe(true);
  });

  it("matches the genesis endpoints that network init writes for it", async () => {
    const { dir, remove } = await tempDir();
    try {
      const run = await runCli(
        ["network", "init", "--dir", "net", "--nodes", "4", "--hosts", K8S_HOSTS],
        {
          cwd: dir,
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const genesis = parseGenesis(JSON.parse(readFileSync(join(dir, "net/genesis.json"), "utf8")));
      const name = String(at(statefulSet, "metadata", "name"));
      const service = String(at(statefulSet, "spec", "serviceName"));
      const p2p = list(node.ports).find((p) => p.name === "p2p")?.containerPort;
      expect(genesis.validators.map((v) => v.endpoint)).toEqual(
        [0, 1, 2, 3].map((i) => `${name}-${i}.${service}:${p2p}`),
      );
      expect(genesis.validators.map((v) => v.id)).toEqual(["node0", "node1", "node2", "node3"]);
    } finally {
      await remove();
    }
    // The deployment guide gives the same command.
    const guide = readFileSync(join(ROOT, "docs/deployment.md"), "utf8");
    expect(guide).toContain(`--hosts ${K8S_HOSTS}`);
    for (const i of [0, 1, 2, 3]) expect(guide).toContain(`node${i}.key=`);
  });
});

describe("docker-compose.yml", () => {
  const compose = readYaml(join(ROOT, "deploy/docker-compose.yml"))[0] ?? {};
  const services = compose.services as Record<string, Doc>;
  const volumes = new Set(Object.keys(record(compose.volumes)));
  const networks = new Set(Object.keys(record(compose.networks)));
  const nodeNames = ["node0", "node1", "node2", "node3"];

  it("has four validators that start after init, each with its own data volume and port", () => {
    expect(Object.keys(services).sort()).toEqual(["cli", "init", ...nodeNames].sort());
    const known = optionsOf("node", "start");
    for (const [i, name] of nodeNames.entries()) {
      const service = services[name] ?? {};
      const command = list(service.command) as unknown as string[];
      expect(command.slice(0, 2)).toEqual(["node", "start"]);
      for (const flag of flagsIn(command)) expect(known.has(flag), `${name} ${flag}`).toBe(true);
      const arg = (flag: string): string => command[command.indexOf(flag) + 1] ?? "";
      expect(arg("--node-id")).toBe(name);
      expect(arg("--key")).toBe(`/etc/govchain/nodes/${name}/validator.key`);
      expect(arg("--p2p-host")).toBe("0.0.0.0");
      expect(at(service, "depends_on", "init", "condition")).toBe("service_completed_successfully");
      const mounts = list(service.volumes) as unknown as string[];
      expect(mounts).toEqual(["network:/etc/govchain:ro", `${name}-data:/var/lib/govchain`]);
      expect(service.ports).toEqual([`127.0.0.1:${8008 + i}:8008`]);
    }
    for (const service of Object.values(services)) {
      for (const mount of list(service.volumes) as unknown as string[]) {
        expect(volumes.has(mount.split(":")[0] ?? "")).toBe(true);
      }
      for (const net of list(service.networks) as unknown as string[]) {
        expect(networks.has(net)).toBe(true);
      }
      expect(at(service, "build", "dockerfile")).toBe("deploy/Dockerfile");
    }
  });

  it("initialises the network once, with the service names as peer hosts", async () => {
    const script = String(list(at(services, "init", "command"))[0]);
    expect(script).toMatch(/^test -f \/etc\/govchain\/genesis\.json \|\|/);
    const hosts = /--hosts (\S+)/.exec(script)?.[1] ?? "";
    expect(hosts.split(",")).toEqual(nodeNames);
    const known = optionsOf("network", "init");
    for (const flag of flagsIn(script)) expect(known.has(flag), flag).toBe(true);

    const { dir, remove } = await tempDir();
    try {
      const run = await runCli(
        ["network", "init", "--dir", "net", "--nodes", "4", "--hosts", hosts],
        {
          cwd: dir,
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const genesis = parseGenesis(JSON.parse(readFileSync(join(dir, "net/genesis.json"), "utf8")));
      expect(genesis.validators.map((v) => v.endpoint)).toEqual(
        nodeNames.map((n, i) => `${n}:${8800 + i}`),
      );
    } finally {
      await remove();
    }
  });
});

describe("deploy/Dockerfile", () => {
  const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));

  it("builds on Node 20, runs as a non-root user and checks health on /v1/status", () => {
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=20\.\d+$/m);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm install --omit=dev/m);
    expect(dockerfile).toMatch(/^USER govchain$/m);
    expect(dockerfile).toMatch(/^EXPOSE 8008 8800$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/v1\/status/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/packages/node/bin/govchain.js"]');
    const cmd = /^CMD (\[[\s\S]*?\])$/m.exec(dockerfile.replace(/\\\n\s*/g, ""))?.[1] ?? "[]";
    const argv = JSON.parse(cmd) as string[];
    const known = optionsOf("node", "start");
    for (const flag of flagsIn(argv)) expect(known.has(flag), flag).toBe(true);
  });

  it("keeps local keys, modules and builds out of the build context", () => {
    for (const entry of [".govchain", "**/node_modules", "**/build", ".git"]) {
      expect(ignore).toContain(entry);
    }
  });
});
