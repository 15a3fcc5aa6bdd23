// PostgreSQL: the shared truth of several replicas. One connection pool per
// database URL in the process (every repository's store shares it), the
// schema migrated at startup under an advisory lock so replicas starting at
// once take turns, and one LISTEN channel that tells every replica of every
// change.

import postgres from "postgres";
import { StorageUnavailableError } from "../errors.js";

export type Sql = postgres.Sql;

export const CHANNEL = "release_server_changes";

/** Each step runs once, in order, in the transaction that records it. */
const MIGRATIONS: string[] = [
  `create table rs_packages (
     store text not null,
     name text not null,
     object_key text not null,
     etag text not null,
     size bigint not null,
     sha256 text not null,
     created_at timestamptz not null,
     primary key (store, name)
   );
   create table rs_documents (
     store text not null,
     key text not null,
     body text not null,
     primary key (store, key)
   );
   create table rs_downloads (
     store text not null,
     name text not null,
     sha256 text not null,
     count bigint not null,
     primary key (store, name)
   );`,
];

const pools = new Map<string, { sql: Sql; users: number }>();

/** The shared pool for `url`, migrated; release it with releaseDatabase. */
export async function openDatabase(url: string): Promise<Sql> {
  let pool = pools.get(url);
  if (!pool) {
    const sql = postgres(url, {
      max: 5,
      connect_timeout: 5,
      idle_timeout: 60,
      onnotice: () => {},
      // The server's own message is the useful part; never the URL (it holds the password).
      connection: { application_name: "release-server" },
    });
    pool = { sql, users: 0 };
    pools.set(url, pool);
    try {
      await migrate(sql);
    } catch (err) {
      pools.delete(url);
      await sql.end({ timeout: 1 }).catch(() => {});
      throw new StorageUnavailableError(databaseProblem(err));
    }
  }
  pool.users++;
  return pool.sql;
}

export async function releaseDatabase(url: string): Promise<void> {
  const pool = pools.get(url);
  if (!pool || --pool.users > 0) return;
  pools.delete(url);
  await pool.sql.end({ timeout: 2 }).catch(() => {});
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // Replicas starting together wait here for each other; the first one migrates.
    await tx`select pg_advisory_xact_lock(hashtext('release-server:migrate'))`;
    await tx`create table if not exists rs_schema (version int not null)`;
    const [row] = await tx<{ version: number }[]>`select coalesce(max(version), 0) as version from rs_schema`;
    for (let v = row.version; v < MIGRATIONS.length; v++) {
      await tx.unsafe(MIGRATIONS[v]);
      await tx`insert into rs_schema (version) values (${v + 1})`;
    }
  });
}

/** A database failure in words an operator can act on; never the URL. */
export function databaseProblem(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const what = e.message ?? String(err);
  if (["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "57P01", "57P03"].includes(e.code ?? "")) {
    return `the database cannot be reached (${what}); packages are served from memory, uploads and deletions wait until it is back`;
  }
  if (e.code === "28P01" || e.code === "28000") return `the database refused the credentials in DATABASE_URL (${what})`;
  if (e.code === "3D000") return `the database named in DATABASE_URL does not exist (${what})`;
  return `the database failed: ${what}`;
}

/** True for failures of the connection, as opposed to an answer from the server. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_.*|57P0[1-3])$/.test(code);
}
