// Renders the chart's config.yaml (the block in templates/configmap.yaml) for
// given values, understanding only the few template forms that block uses and
// refusing anything else, so a template change cannot slip past the tests.

type Values = Record<string, unknown>;

function lookup(values: Values, path: string): unknown {
  let node: unknown = values;
  for (const key of path.replace(/^\.Values\./, "").split(".")) {
    node = typeof node === "object" && node !== null ? (node as Values)[key] : undefined;
  }
  if (node === undefined) throw new Error(`${path} is not in the values`);
  return node;
}

const quote = (v: unknown) => JSON.stringify(String(v));

export function renderConfigYaml(configmapTemplate: string, values: Values): string {
  const block = /config\.yaml: \|\n([^]*)$/.exec(configmapTemplate);
  if (!block) throw new Error("configmap.yaml has no config.yaml block");
  let text = block[1].replace(/^ {4}/gm, "");
  text = text.replace(/\n?\s*\{\{- \/\*[^]*?\*\/\}\}/g, "");
  text = text.replace(/\n?\s*\{\{- with (\.Values\.[\w.]+) \}\}([^]*?)\n?\s*\{\{- end \}\}/g, (_, path: string, body: string) => {
    const v = lookup(values, path);
    return v === "" || v === false || v === null ? "" : body.replace(/\{\{ \. \| quote \}\}/g, quote(v));
  });
  text = text.replace(
    /\{\{ if kindIs "string" (\.Values\.[\w.]+) \}\}\{\{ \1 \| quote \}\}\{\{ else \}\}\{\{ int64 \1 \}\}\{\{ end \}\}/g,
    (_, path: string) => {
      const v = lookup(values, path);
      return typeof v === "string" ? quote(v) : String(Math.trunc(Number(v)));
    },
  );
  text = text.replace(/\n?\s*\{\{- if (\.Values\.[\w.]+) \}\}([^]*?)\n?\s*\{\{- end \}\}/g, (_, path: string, body: string) => (lookup(values, path) ? body : ""));
  text = text.replace(/\{\{ (\.Values\.[\w.]+) \| quote \}\}/g, (_, path: string) => quote(lookup(values, path)));
  text = text.replace(/\{\{ int64 (\.Values\.[\w.]+) \}\}/g, (_, path: string) => String(Math.trunc(Number(lookup(values, path)))));
  text = text.replace(/\{\{ (\.Values\.[\w.]+) \}\}/g, (_, path: string) => String(lookup(values, path)));
  if (text.includes("{{")) throw new Error(`config.yaml uses template syntax this renderer does not know:\n${text}`);
  return text;
}
