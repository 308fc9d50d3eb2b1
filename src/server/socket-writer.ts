import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** Past this many bytes waiting for one socket, its subscriptions wait for it to drain before writing more. */
const MAX_BUFFERED_BYTES = 1 << 20;
const TEXT = { binary: false };
const CLOSE = 0x7d; // "}"

/**
 * Frames for one WebSocket, written as they come but flushed to the socket at
 * most once per turn of the event loop: the first frame of a turn corks the
 * TCP socket and a setImmediate uncorks it, so every frame written in between
 * (a batch of run events to every subscription on the socket) leaves in one
 * write.
 */
export class SocketWriter {
  private corked = false;
  private waiting: Promise<void> | undefined;
  private readonly flush = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
  ) {}

  /**
   * Queues one text frame, `head` + `body` + "}" (a message envelope around a
   * shared payload, both UTF-8 JSON); dropped once the socket is no longer
   * open (its subscriptions are being ended).
   */
  write(head: Buffer, body: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.flush);
    }
    const frame = Buffer.allocUnsafe(head.length + body.length + 1);
    head.copy(frame, 0);
    body.copy(frame, head.length);
    frame[frame.length - 1] = CLOSE;
    this.ws.send(frame, TEXT);
  }

  /** The client reads slower than it is written to: writers should wait for `drained()`. */
  get congested(): boolean {
    return this.ws.bufferedAmount > MAX_BUFFERED_BYTES && this.ws.readyState === this.ws.OPEN;
  }

  /** Resolves once the socket's buffer has drained, or it closed; one wait shared by all its subscriptions. */
  drained(): Promise<void> {
    this.waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.waiting = undefined;
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
    return this.waiting;
  }
}
