// oslo.messaging's transport_url: `driver://[user:pass@]host:port[,[userN:passN@]hostN:portN]/virtual_host?query`.
import { ValidationError } from '@alto/kernel';

export interface TransportHost {
  hostname: string;
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
}

export interface TransportUrl {
  /** The driver, e.g. `rabbit` or `inprocess`. */
  scheme: string;
  hosts: TransportHost[];
  /** Percent-decoded; undefined when the URL has no path. */
  virtualHost: string | undefined;
  query: Record<string, string>;
}

function invalid(url: string, why: string): ValidationError {
  return new ValidationError(`invalid transport_url ${redactTransportUrl(url)}: ${why}`, 'bus.invalid_transport_url');
}

function decode(url: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(url, 'bad percent-encoding');
  }
}

/** The URL with every password replaced by `***`, for logs and error messages. */
export function redactTransportUrl(url: string): string {
  const m = /^([^:/?#]+:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const [, head = '', netloc = '', tail = ''] = m;
  const hosts = netloc.split(',').map((h) => {
    const at = h.lastIndexOf('@');
    if (at < 0) return h;
    const creds = h.slice(0, at);
    const colon = creds.indexOf(':');
    return colon < 0 ? h : `${creds.slice(0, colon)}:***${h.slice(at)}`;
  });
  return head + hosts.join(',') + tail;
}

/**
 * Parses a transport URL the way oslo.messaging's TransportURL.parse does: the netloc is split
 * on commas into hosts, each with optional percent-encoded credentials; the path (minus its
 * leading slash) is the virtual host, so `/` is written `//`.
 */
export function parseTransportUrl(url: string): TransportUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/s.exec(url);
  if (!m) throw invalid(url, 'expected driver://[user:pass@]host:port[,...]/virtual_host');
  const [, scheme = '', netloc = '', path = '', rawQuery] = m;
  const hosts: TransportHost[] = [];
  for (const part of netloc.split(',')) {
    if (part === '') continue;
    let hostPart = part;
    let username: string | undefined;
    let password: string | undefined;
    const at = part.lastIndexOf('@');
    if (at >= 0) {
      const creds = part.slice(0, at);
      hostPart = part.slice(at + 1);
      const colon = creds.indexOf(':');
      username = decode(url, colon < 0 ? creds : creds.slice(0, colon));
      if (colon >= 0) password = decode(url, creds.slice(colon + 1));
    }
    let hostname: string;
    let portText: string | undefined;
    if (hostPart.startsWith('[')) {
      const end = hostPart.indexOf(']');
      if (end < 0) throw invalid(url, 'unterminated IPv6 address');
      hostname = hostPart.slice(1, end);
      const rest = hostPart.slice(end + 1);
      if (rest !== '' && !rest.startsWith(':')) throw invalid(url, `unexpected ${rest} after IPv6 address`);
      portText = rest === '' ? undefined : rest.slice(1);
    } else {
      const colon = hostPart.indexOf(':');
      hostname = colon < 0 ? hostPart : hostPart.slice(0, colon);
      portText = colon < 0 ? undefined : hostPart.slice(colon + 1);
    }
    let port: number | undefined;
    if (portText !== undefined && portText !== '') {
      if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw invalid(url, `bad port ${portText}`);
      port = Number(portText);
    }
    hosts.push({ hostname, port, username, password });
  }
  const query: Record<string, string> = {};
  if (rawQuery) {
    for (const [k, v] of new URLSearchParams(rawQuery)) query[k] = k in query ? `${query[k]},${v}` : v;
  }
  return {
    scheme: scheme.toLowerCase(),
    hosts,
    virtualHost: path.startsWith('/') ? decode(url, path.slice(1)) : undefined,
    query,
  };
}
