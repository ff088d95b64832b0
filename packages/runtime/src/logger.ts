// JSON logs (or readable text in a terminal) with the fields every line needs; secrets redacted.
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  format?: 'json' | 'text';
  /** The component, e.g. identity-api. */
  name?: string;
  /** Where lines go; stderr by default so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

/**
 * Paths that may carry secrets. Fastify never logs bodies, but a handler or driver might log an
 * object that holds one; these are masked wherever they appear.
 */
const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'auth.identity.password.user.password',
  'req.headers["x-auth-token"]',
  'req.headers["x-subject-token"]',
  'req.headers["x-service-token"]',
  'headers["x-auth-token"]',
  'token',
  'secret',
  '*.secret',
  'connection',
  '*.connection',
  'transport_url',
  '*.transport_url',
];

export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? process.stderr;
  const stream = opts.format === 'text' ? textStream(destination) : destination;
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      redact: { paths: REDACT, censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** Renders pino's JSON lines as `HH:MM:SS level [name] msg key=value`. */
function textStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const { time, level, name, msg, pid: _pid, hostname: _h, ...rest } = rec;
          const extras = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          const t = typeof time === 'string' ? time.slice(11, 19) : '';
          const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
          out.write(`${t} ${str(level).padEnd(5)} ${name ? `[${str(name)}] ` : ''}${msg === undefined ? '' : str(msg)}${extras ? ` ${extras}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      cb();
    },
  });
}
