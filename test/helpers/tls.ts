// A self-signed certificate for 127.0.0.1, made with openssl, for the HTTPS tests.

import { execFile } from "node:child_process";
import { join } from "node:path";

export function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"];
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { timeout: 30_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`openssl failed: ${stderr}`)) : resolve({ cert, key })));
  });
}
