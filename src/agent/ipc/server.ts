// The agent's IPC server: a Unix domain socket speaking Greengrass IPC. The agent gives each component process
// AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT (this socket) and SVCUID (a token issued here for that
// component); the SDK's Connect carries `{"authToken": SVCUID}` and the connection then acts as that component.
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { openOperationStream } from './greengrass-ipc.js';
import type { IpcHost } from './host.js';
import { RpcConnection } from './rpc-connection.js';

/** The SVCUID of each component the agent runs: random per component and per agent start, as the nucleus does. */
export class ComponentTokens {
  private readonly byToken = new Map<string, string>();
  private readonly byComponent = new Map<string, string>();

  /** The component's token, issued on first request and the same until revoked. */
  tokenFor(componentName: string): string {
    let token = this.byComponent.get(componentName);
    if (!token) {
      token = randomBytes(16).toString('hex');
      this.byComponent.set(componentName, token);
      this.byToken.set(token, componentName);
    }
    return token;
  }

  componentFor(token: string): string | undefined {
    return this.byToken.get(token);
  }

  /** A removed component's token stops working for new connections. */
  revoke(componentName: string): void {
    const token = this.byComponent.get(componentName);
    if (token) this.byToken.delete(token);
    this.byComponent.delete(componentName);
  }
}

/** The environment variables a component process needs to reach this server (plus the agent's others). */
export function ipcEnvironment(socketPath: string, token: string): Record<string, string> {
  return { AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: socketPath, SVCUID: token };
}

export interface IpcServerOptions {
  socketPath: string;
  host: IpcHost;
  tokens: ComponentTokens;
  onError?: (error: unknown, context: string) => void;
}

// sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;

export class IpcServer {
  private readonly connections = new Set<RpcConnection<string>>();

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  static async start(options: IpcServerOptions): Promise<IpcServer> {
    const { socketPath, host, tokens } = options;
    const onError = options.onError ?? (() => {});
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`IPC socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; choose a shorter agent root`);
    }
    // A socket file left by an agent that died is in the way of listen(); nothing can be listening on it.
    rmSync(socketPath, { force: true });
    let ipc: IpcServer | undefined;
    const server = createServer((socket: Socket) => {
      const connection: RpcConnection<string> = new RpcConnection<string>(socket, {
        authenticate(connect) {
          const body: unknown = connect.payload.length ? JSON.parse(connect.payload.toString('utf8')) : {};
          const token = (body as { authToken?: unknown }).authToken;
          return typeof token === 'string' ? tokens.componentFor(token) : undefined;
        },
        openStream: (caller, stream) => openOperationStream(host, caller, stream, onError),
        onError,
      });
      ipc!.connections.add(connection);
      socket.on('close', () => ipc!.connections.delete(connection));
    });
    ipc = new IpcServer(server, socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => onError(error, 'IPC server error'));
    // Components may run as other users (runWith posixUser); the SVCUID, not file permissions, guards the socket.
    chmodSync(socketPath, 0o666);
    return ipc;
  }

  /** Stops accepting, ends every connection (their subscriptions close) and removes the socket file. */
  async close(): Promise<void> {
    for (const connection of this.connections) connection.close();
    this.connections.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.socketPath, { force: true });
  }
}
