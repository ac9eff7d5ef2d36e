/**
 * The filer's metadata stream over gRPC: loads our minimal filer-metadata.proto (copied beside the
 * compiled module by scripts/copy-assets.mjs) and opens `SeaweedFiler.SubscribeMetadata`.
 * int64 fields arrive as decimal strings (no precision lost on ts_ns), bytes as Buffers.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface FilerAttributes {
  file_size?: string;
  mtime?: string;
  file_mode?: number;
  crtime?: string;
  mime?: string;
  md5?: Buffer;
}

export interface FilerChunk {
  offset?: string;
  size?: string;
  mtime?: string;
  e_tag?: string;
}

export interface FilerEntry {
  name: string;
  is_directory?: boolean;
  chunks?: FilerChunk[];
  attributes?: FilerAttributes | null;
  extended?: Record<string, Buffer>;
  content?: Buffer;
}

export interface FilerEventNotification {
  old_entry?: FilerEntry | null;
  new_entry?: FilerEntry | null;
  delete_chunks?: boolean;
  new_parent_path?: string;
  is_from_other_cluster?: boolean;
}

export interface FilerMetadataEvent {
  directory: string;
  event_notification?: FilerEventNotification | null;
  ts_ns: string;
}

export interface SubscribeRequest {
  client_name: string;
  path_prefix: string;
  since_ns: string;
  client_id: number;
  client_epoch: number;
}

export type MetadataStream = grpc.ClientReadableStream<FilerMetadataEvent>;

interface FilerClient extends grpc.Client {
  SubscribeMetadata(request: SubscribeRequest): MetadataStream;
}

type FilerClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => FilerClient;

const PROTO_PATH = fileURLToPath(new URL('./filer-metadata.proto', import.meta.url));

let constructorCache: FilerClientConstructor | undefined;

function filerClientConstructor(): FilerClientConstructor {
  if (constructorCache) return constructorCache;
  const definition = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    bytes: Buffer,
    defaults: false,
    oneofs: false,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    filer_pb: { SeaweedFiler: FilerClientConstructor };
  };
  constructorCache = loaded.filer_pb.SeaweedFiler;
  return constructorCache;
}

/** A client of the filer's gRPC API at host:port (plaintext, as the local stack serves it). */
export function createFilerClient(address: string): FilerClient {
  const Client = filerClientConstructor();
  return new Client(address, grpc.credentials.createInsecure(), {
    // Metadata events of files with many chunks can be large.
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

export type { FilerClient };
export { grpc };
