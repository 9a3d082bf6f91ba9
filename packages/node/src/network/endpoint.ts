/**
 * `host:port` endpoints as peer configurations write them. IPv6 hosts are bracketed
 * (`[::1]:7000`) so the last colon always separates the port.
 */

/** A parsed endpoint. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const HOST_RE = /^[A-Za-z0-9._-]+$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;

/** Parses `host:port` or `[ipv6]:port`; undefined when malformed or the port is not 1–65535. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const colon = text.lastIndexOf(":");
  if (colon <= 0) return undefined;
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    if (!IPV6_RE.test(host) || !host.includes(":")) return undefined;
  } else if (!HOST_RE.test(host)) return undefined;
  return { host, port };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(":")
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}
