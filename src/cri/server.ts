/**
 * The CRI gRPC server (grpc-js on a UNIX socket): every RPC of RuntimeService and ImageService
 * is registered; those without a handler answer UNIMPLEMENTED. Handlers are plain async
 * functions of the decoded request; a thrown BerthError becomes its gRPC code (api/errors.ts).
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AuthorityFix } from './authority.js';
import { grpcStatusOf } from '../api/errors.js';
import { unavailable } from '../lib/errors.js';
import { criServices } from './proto.js';
import { socketAnswers } from '../lib/sockets.js';

/**
 * A unary RPC: request message in, response message out. (`never`: a handler declares the
 * request type it reads; the decoded message is handed to it as that type.)
 */
export type UnaryHandler = (req: never) => Promise<object>;
/** A server-streaming RPC: writes messages on `send` until done (or the client cancels: `signal`). */
export type StreamHandler = (req: never, send: (msg: object) => void, signal: AbortSignal) => Promise<void>;

export interface CriHandlers {
  unary: Record<string, UnaryHandler>;
  streams?: Record<string, StreamHandler>;
}

export interface CriServerOptions {
  socket: string;
  runtime: CriHandlers;
  image: CriHandlers;
  log?: (msg: string) => void;
}

export class CriServer {
  private server?: grpc.Server;
  private listener?: net.Server;

  constructor(private readonly o: CriServerOptions) {}

  get socket(): string {
    return this.o.socket;
  }

  async start(): Promise<void> {
    const services = criServices();
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    server.addService(services.runtime, this.implementation(services.runtime, this.o.runtime));
    server.addService(services.image, this.implementation(services.image, this.o.image));
    await fs.mkdir(path.dirname(this.o.socket), { recursive: true });
    // A live socket belongs to someone else (another berthd, containerd): never taken over.
    if (await socketAnswers(this.o.socket)) throw unavailable(`another daemon is already listening on ${this.o.socket}`);
    await fs.rm(this.o.socket, { force: true });
    // Our own listener, each connection through the :authority shim (authority.ts) into grpc-js.
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = net.createServer((sock) => injector.injectConnection(new AuthorityFix(sock)));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.o.socket, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(this.o.socket, 0o660);
    this.server = server;
    this.listener = listener;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listener?.close();
    this.listener = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await fs.rm(this.o.socket, { force: true });
  }

  private implementation(service: grpc.ServiceDefinition, handlers: CriHandlers): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(service)) {
      if (method.responseStream) impl[name] = this.streamMethod(name, handlers.streams?.[name]);
      else impl[name] = this.unaryMethod(name, handlers.unary[name]);
    }
    return impl;
  }

  private unaryMethod(name: string, h: UnaryHandler | undefined): grpc.handleUnaryCall<unknown, object> {
    return (call, callback) => {
      if (!h) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented by Berth` });
        return;
      }
      if (this.o.log) this.o.log(`CRI ${name}`);
      h(call.request as never).then(
        (res) => callback(null, res),
        (err: unknown) => {
          const s = grpcStatusOf(err);
          if (this.o.log) this.o.log(`CRI ${name} failed: ${s.message}`);
          callback({ code: s.code, details: s.message });
        },
      );
    };
  }

  private streamMethod(name: string, h: StreamHandler | undefined): grpc.handleServerStreamingCall<unknown, object> {
    return (call) => {
      if (!h) {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented by Berth` });
        return;
      }
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      h(call.request as never, (msg) => call.write(msg), ac.signal).then(
        () => call.end(),
        (err: unknown) => {
          const s = grpcStatusOf(err);
          call.emit('error', { code: s.code, details: s.message });
        },
      );
    };
  }
}
