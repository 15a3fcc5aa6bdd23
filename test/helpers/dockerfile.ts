// A small Dockerfile reader for the image-layout test: enough of the syntax
// our Dockerfile uses (stages, WORKDIR, COPY, RUN, ENV, USER, EXPOSE, VOLUME,
// exec-form CMD), plus .dockerignore matching. It refuses what it does not
// understand, so the test cannot silently skip an instruction.

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  from: string;
  instructions: Instruction[];
}

export interface Copy {
  from: string | null; // a stage name, or null for the build context
  chown: string | null;
  sources: string[];
  dest: string;
}

const KNOWN = new Set(["FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "EXPOSE", "VOLUME", "CMD", "ARG", "LABEL"]);

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, " ");
      i++;
      if (!/^\s*#/.test(lines[i])) line += lines[i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(line)}`);
    const op = m[1].toUpperCase();
    const args = m[2].trim();
    if (!KNOWN.has(op)) throw new Error(`Dockerfile line ${start}: the layout test does not understand ${op}`);
    if (op === "FROM") {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${start}: cannot parse FROM ${args}`);
      stages.push({ from: f[1], name: f[2] ?? null, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${start}: ${op} before FROM`);
    stages[stages.length - 1].instructions.push({ op, args, line: start });
  }
  return stages;
}

export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  let from: string | null = null;
  let chown: string | null = null;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift()!;
    const [key, value] = flag.slice(2).split("=", 2);
    if (key === "from") from = value;
    else if (key === "chown") chown = value;
    else throw new Error(`COPY flag ${flag} is not understood by the layout test`);
  }
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  if (words.some((w) => /[*?[]/.test(w))) throw new Error(`COPY with wildcards is not understood by the layout test: ${args}`);
  const dest = words.pop()!;
  return { from, chown, sources: words, dest };
}

/** ENV key=value pairs (values may be double-quoted). */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/gy;
  const rest = args.trim();
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const m = re.exec(rest);
    if (!m) throw new Error(`ENV must use key=value pairs: ${args}`);
    env[m[1]] = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    pos = re.lastIndex;
    while (rest[pos] === " ") pos++;
  }
  return env;
}

/** The CMD in exec form (a JSON array); shell form would need a shell, which the image lacks. */
export function parseExecForm(args: string): string[] {
  const value = JSON.parse(args) as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new Error(`CMD must be a JSON array of strings: ${args}`);
  return value;
}

/** A .dockerignore predicate: true when `path` (relative, with /) is excluded from the build context. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, "");
      const source = pattern
        .split("/")
        .map((part) => (part === "**" ? ".*" : part.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")))
        .join("/");
      return { negate, re: new RegExp(`^${source.replace(/\.\*\//g, "(?:.*/)?")}$`) };
    });
  return (path) => {
    // A rule matches a path or any of its parent directories; the last matching rule wins.
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negate;
    return excluded;
  };
}
