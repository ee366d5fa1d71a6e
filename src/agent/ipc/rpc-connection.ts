// The event-stream RPC protocol over one client connection (what aws-c-event-stream's RPC client, and so the
// SDK's `eventstream_rpc`, speaks): every message carries `:message-type`, `:message-flags` and `:stream-id`
// int32 headers. Stream 0 carries the protocol messages (Connect / ConnectAck, Ping / PingResponse, errors);
// the client opens each operation on a fresh, increasing stream id with an `operation` header, and either side
// ends a stream with the TERMINATE_STREAM flag. No application message is accepted before a ConnectAck that
// accepted the connection. This layer knows nothing of Greengrass: it authenticates the Connect and hands each
// new stream to the service.
import type { Socket } from 'node:net';
import {
  encodeMessage,
  FramingError,
  int32Header,
  MessageDecoder,
  stringHeader,
  type EventStreamMessage,
  type Headers,
} from './framing.js';

export const MessageType = {
  ApplicationMessage: 0,
  ApplicationError: 1,
  Ping: 2,
  PingResponse: 3,
  Connect: 4,
  ConnectAck: 5,
  ProtocolError: 6,
  InternalError: 7,
} as const;

export const MessageFlags = { None: 0, ConnectionAccepted: 1, TerminateStream: 2 } as const;

export const HEADER = {
  messageType: ':message-type',
  messageFlags: ':message-flags',
  streamId: ':stream-id',
  operation: 'operation',
  version: ':version',
  contentType: ':content-type',
} as const;

/** How long a refused client may keep its connection open to read the refusal. */
const REFUSED_CONNECTION_GRACE_MS = 2000;

/** The RPC protocol version the SDK sends in its Connect and the nucleus requires. */
export const RPC_VERSION = '0.1.0';

export interface OutgoingMessage {
  type: number;
  headers?: Headers;
  payload?: Buffer;
  terminate?: boolean;
}

/** One operation stream, as the service sees it. */
export interface RpcStream {
  readonly id: number;
  readonly operation: string;
  readonly closed: boolean;
  /** Sends on the stream; with `terminate` the stream is closed once written. Ignored once closed. */
  send(message: OutgoingMessage): void;
}

/** What the service does with one stream. `onClose` runs exactly once, whoever ended the stream. */
export interface StreamHandler {
  onMessage(payload: Buffer, headers: Headers, terminate: boolean): void;
  onClose(): void;
}

export interface RpcService<Principal> {
  /** The identity a Connect proves (headers and payload as sent), or undefined to refuse it. */
  authenticate(connect: EventStreamMessage): Principal | undefined;
  openStream(principal: Principal, stream: RpcStream): StreamHandler;
  onError?(error: unknown, context: string): void;
}

function int32Of(headers: Headers, name: string): number | undefined {
  const header = headers[name];
  return header?.type === 'int32' ? header.value : undefined;
}

function stringOf(headers: Headers, name: string): string | undefined {
  const header = headers[name];
  return header?.type === 'string' ? header.value : undefined;
}

interface OpenStream {
  stream: RpcStream & { markClosed(): void };
  handler: StreamHandler;
}

export class RpcConnection<Principal> {
  private readonly decoder = new MessageDecoder();
  private principal: Principal | undefined;
  private connectSeen = false;
  private lastStreamId = 0;
  private readonly streams = new Map<number, OpenStream>();
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly service: RpcService<Principal>,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.closeAllStreams());
    // A peer that vanishes mid-write surfaces here; the 'close' that follows cleans up.
    socket.on('error', (error) => this.service.onError?.(error, 'IPC socket error'));
  }

  /** Closes the connection and every open stream (the client sees a disconnection). */
  close(): void {
    this.ended = true;
    this.socket.destroy();
    this.closeAllStreams();
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    let messages: EventStreamMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (error) {
      this.protocolError(error instanceof FramingError ? error.message : 'unreadable message');
      return;
    }
    for (const message of messages) {
      if (this.ended) return;
      try {
        this.route(message);
      } catch (error) {
        this.service.onError?.(error, 'IPC message handling failed');
        this.write(0, { type: MessageType.InternalError, payload: Buffer.from(JSON.stringify({ message: 'internal error' })) });
        this.close();
      }
    }
  }

  private route(message: EventStreamMessage): void {
    const type = int32Of(message.headers, HEADER.messageType);
    const flags = int32Of(message.headers, HEADER.messageFlags);
    const streamId = int32Of(message.headers, HEADER.streamId);
    if (type === undefined || flags === undefined || streamId === undefined) {
      this.protocolError(`every message needs int32 ${HEADER.messageType}, ${HEADER.messageFlags} and ${HEADER.streamId} headers`);
      return;
    }
    if (streamId === 0) this.routeProtocolMessage(type, message);
    else this.routeStreamMessage(streamId, type, flags, message);
  }

  private routeProtocolMessage(type: number, message: EventStreamMessage): void {
    switch (type) {
      case MessageType.Connect:
        this.onConnect(message);
        return;
      case MessageType.Ping: {
        // Echo the application headers and payload, as the protocol asks.
        const headers: Headers = {};
        for (const [name, value] of Object.entries(message.headers)) if (!name.startsWith(':')) headers[name] = value;
        this.write(0, { type: MessageType.PingResponse, headers, payload: message.payload });
        return;
      }
      case MessageType.PingResponse:
        return;
      case MessageType.ProtocolError:
      case MessageType.InternalError:
        this.service.onError?.(new Error(message.payload.toString('utf8')), 'IPC client reported an error');
        this.close();
        return;
      default:
        this.protocolError(`message type ${type} is not valid on stream 0`);
    }
  }

  private onConnect(message: EventStreamMessage): void {
    if (this.connectSeen) {
      this.protocolError('only one Connect is allowed on a connection');
      return;
    }
    this.connectSeen = true;
    const version = stringOf(message.headers, HEADER.version);
    let principal: Principal | undefined;
    if (version === RPC_VERSION) {
      try {
        principal = this.service.authenticate(message);
      } catch (error) {
        this.service.onError?.(error, 'IPC authentication failed');
      }
    }
    if (principal === undefined) {
      // A ConnectAck without ConnectionAccepted is the refusal. The client closes the connection on reading it;
      // closing it here at once would race that read (the SDK would report a network error rather than the
      // refusal), so the server only closes a refused connection the client keeps open past a grace period.
      this.write(0, { type: MessageType.ConnectAck });
      this.ended = true;
      setTimeout(() => this.socket.destroy(), REFUSED_CONNECTION_GRACE_MS).unref();
      return;
    }
    this.principal = principal;
    this.write(0, { type: MessageType.ConnectAck, flags: MessageFlags.ConnectionAccepted });
  }

  private routeStreamMessage(streamId: number, type: number, flags: number, message: EventStreamMessage): void {
    if (this.principal === undefined) {
      this.protocolError('a Connect accepted by the server must come before any stream');
      return;
    }
    if (type !== MessageType.ApplicationMessage && type !== MessageType.ApplicationError) {
      this.protocolError(`message type ${type} is not valid on a stream`);
      return;
    }
    const terminate = (flags & MessageFlags.TerminateStream) !== 0;
    let open = this.streams.get(streamId);
    if (!open) {
      if (streamId <= this.lastStreamId) return; // a stream that has ended already: late messages are dropped
      const operation = stringOf(message.headers, HEADER.operation);
      if (operation === undefined) {
        this.protocolError(`the first message of stream ${streamId} needs an "${HEADER.operation}" header`);
        return;
      }
      this.lastStreamId = streamId;
      // A client that ends a stream with its first message asked for nothing.
      if (terminate) return;
      open = this.openStream(streamId, operation);
    }
    if (terminate) {
      this.streams.delete(streamId);
      open.stream.markClosed();
    }
    open.handler.onMessage(message.payload, message.headers, terminate);
    if (terminate) this.runOnClose(open);
  }

  private openStream(id: number, operation: string): OpenStream {
    let closed = false;
    const stream = {
      id,
      operation,
      get closed() {
        return closed;
      },
      markClosed: () => {
        closed = true;
      },
      send: (message: OutgoingMessage) => {
        if (closed || this.ended) return;
        this.write(id, {
          type: message.type,
          headers: message.headers,
          payload: message.payload,
          flags: message.terminate ? MessageFlags.TerminateStream : MessageFlags.None,
        });
        if (message.terminate) {
          closed = true;
          const open = this.streams.get(id);
          this.streams.delete(id);
          if (open) this.runOnClose(open);
        }
      },
    };
    const open: OpenStream = { stream, handler: undefined as unknown as StreamHandler };
    this.streams.set(id, open);
    open.handler = this.service.openStream(this.principal as Principal, stream);
    return open;
  }

  private runOnClose(open: OpenStream): void {
    try {
      open.handler.onClose();
    } catch (error) {
      this.service.onError?.(error, 'IPC stream close handler failed');
    }
  }

  private closeAllStreams(): void {
    this.ended = true;
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const entry of open) {
      entry.stream.markClosed();
      this.runOnClose(entry);
    }
  }

  private protocolError(reason: string): void {
    this.write(0, {
      type: MessageType.ProtocolError,
      headers: { [HEADER.contentType]: stringHeader('application/json') },
      payload: Buffer.from(JSON.stringify({ message: reason })),
    });
    this.ended = true;
    this.socket.end();
    this.closeAllStreams();
  }

  private write(streamId: number, message: { type: number; flags?: number; headers?: Headers; payload?: Buffer }): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const headers: Headers = {
      ...message.headers,
      [HEADER.messageType]: int32Header(message.type),
      [HEADER.messageFlags]: int32Header(message.flags ?? MessageFlags.None),
      [HEADER.streamId]: int32Header(streamId),
    };
    this.socket.write(encodeMessage({ headers, payload: message.payload ?? Buffer.alloc(0) }));
  }
}
