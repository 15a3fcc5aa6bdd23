// Raw TCP clients that misbehave on purpose: for the timeout and slow-reader tests.

import { connect, type Socket } from "node:net";

export interface HeldSocket {
  socket: Socket;
  /** Everything the server sent (only filled while the socket is read). */
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** Connects and sends `data`; the socket stays open until the server (or the test) closes it. */
export function hold(url: string, data: string | Buffer, { read = true } = {}): Promise<HeldSocket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = "";
    let isClosed = false;
    const closed = new Promise<void>((res) => socket.once("close", () => ((isClosed = true), res())));
    socket.on("error", () => {}); // a reset is one way of being dropped
    if (read) socket.on("data", (d) => (text += d.toString("latin1")));
    socket.once("connect", () => {
      socket.write(data);
      if (!read) socket.pause();
      resolve({ socket, received: () => text, closed, isClosed: () => isClosed });
    });
    socket.once("error", reject);
  });
}

/** Opens `n` sockets, `batch` at a time (so the listen backlog is never the limit being tested). */
export async function holdMany(n: number, url: string, data: (i: number) => string | Buffer, opts: { read?: boolean } = {}, batch = 100): Promise<HeldSocket[]> {
  const all: HeldSocket[] = [];
  for (let i = 0; i < n; i += batch) {
    all.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => hold(url, data(i + j), opts)))));
  }
  return all;
}
