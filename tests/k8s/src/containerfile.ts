// Reads the repository's Containerfile: its stages and the instructions the tests check or need (ENTRYPOINT, ENV, USER, COPY).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './render.js';

export interface Instruction {
  keyword: string;
  /** The rest of the instruction, continuation lines joined. */
  rest: string;
  line: number;
}

export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Containerfile {
  path: string;
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/** Splits the file into instructions: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (buffer === '' && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (buffer !== '' && line.trim().startsWith('#')) return; // comment lines inside a continued instruction
    if (buffer === '') start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer);
    if (m?.[1] && m[2] !== undefined) out.push({ keyword: m[1].toUpperCase(), rest: m[2].trim(), line: start });
    buffer = '';
  });
  return out;
}

export function readContainerfile(path = join(repoRoot, 'Containerfile')): Containerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions(readFileSync(path, 'utf8'))) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
      if (!m?.[1]) throw new Error(`${path}:${ins.line}: cannot read FROM ${ins.rest}`);
      stages.push({ from: m[1], name: m[2], instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (ins.keyword !== 'ARG') throw new Error(`${path}:${ins.line}: ${ins.keyword} before the first FROM`);
      const [name = '', value = ''] = ins.rest.split('=', 2);
      globalArgs.set(name.trim(), value.trim());
      continue;
    }
    stage.instructions.push(ins);
  }
  return { path, globalArgs, stages };
}

/** `${NAME}` and `$NAME` from the global ARGs, as FROM lines see them. */
export function substituteArgs(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? all);
}

/** ENTRYPOINT and CMD in exec form (a JSON array); the shell form is not accepted for an image Kubernetes runs. */
export function execForm(ins: Instruction | undefined): string[] | undefined {
  if (!ins) return undefined;
  const parsed: unknown = JSON.parse(ins.rest);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`line ${ins.line}: ${ins.keyword} is not in exec form`);
  return parsed;
}

/** The last instruction of a keyword in a stage (the one that takes effect). */
export function lastOf(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** ENV of a stage: `ENV A=1 B="x y"` and the legacy `ENV A 1`. */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (!ins.rest.includes('=')) {
      const [name = '', ...value] = ins.rest.split(/\s+/);
      env.set(name, value.join(' '));
      continue;
    }
    for (const m of ins.rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const [, name = '', raw = ''] = m;
      env.set(name, raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    }
  }
  return env;
}

/** The sources of a COPY without --from (paths in the build context). */
export function copySources(ins: Instruction): string[] {
  const parts = ins.rest.split(/\s+/).filter((p) => !p.startsWith('--'));
  if (ins.rest.trim().startsWith('[')) {
    const parsed = JSON.parse(ins.rest.replace(/^(--\S+\s+)*/, '')) as string[];
    return parsed.slice(0, -1);
  }
  return parts.slice(0, -1);
}
