// The media type of a package, from its file name's extension, for the
// `content_type` of GitHub-shaped asset objects. Unknown → octet-stream.

const TYPES: [suffix: string, type: string][] = [
  [".tar.gz", "application/gzip"],
  [".tgz", "application/gzip"],
  [".gz", "application/gzip"],
  [".tar.xz", "application/x-xz"],
  [".xz", "application/x-xz"],
  [".tar.bz2", "application/x-bzip2"],
  [".bz2", "application/x-bzip2"],
  [".tar.zst", "application/zstd"],
  [".zst", "application/zstd"],
  [".tar", "application/x-tar"],
  [".zip", "application/zip"],
  [".7z", "application/x-7z-compressed"],
  [".jar", "application/java-archive"],
  [".whl", "application/zip"],
  [".deb", "application/vnd.debian.binary-package"],
  [".rpm", "application/x-rpm"],
  [".dmg", "application/x-apple-diskimage"],
  [".msi", "application/x-msi"],
  [".exe", "application/vnd.microsoft.portable-executable"],
  [".json", "application/json"],
  [".yaml", "application/yaml"],
  [".yml", "application/yaml"],
  [".txt", "text/plain"],
  [".md", "text/markdown"],
  [".sig", "application/pgp-signature"],
  [".asc", "application/pgp-signature"],
];

export function contentTypeOf(name: string): string {
  const lower = name.toLowerCase();
  for (const [suffix, type] of TYPES) if (lower.endsWith(suffix)) return type;
  return "application/octet-stream";
}
