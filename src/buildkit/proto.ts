/**
 * The protobuf messages Berth exchanges with BuildKit clients (buildx): our own minimal schema,
 * holding only the fields Berth reads or writes. Field names and numbers are BuildKit's wire facts
 * (each message names its upstream counterpart); unknown fields a client sends are skipped by the
 * decoder, so nothing more is needed to talk to it. Encoded and decoded with protobufjs
 * (docs/dependencies.md).
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";

package google.protobuf;
// google.protobuf.Timestamp
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
// google.protobuf.Any
message Any { string type_url = 1; bytes value = 2; }

package google.rpc;
// google.rpc.Status
message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }

package pb;
// pb.Platform (solver/pb/ops.proto)
message Platform { string Architecture = 1; string OS = 2; string Variant = 3; }
// pb.Definition: the LLB Berth never evaluates (the Dockerfile frontend runs on Berth's builder)
message Definition { repeated bytes def = 1; }

package moby.buildkit.v1.types;
// moby.buildkit.v1.types.BuildkitVersion
message BuildkitVersion { string package = 1; string version = 2; string revision = 3; }
// moby.buildkit.v1.types.GCPolicy
message GCPolicy { bool all = 1; int64 keepDuration = 2; int64 keepBytes = 3; repeated string filters = 4; }
// moby.buildkit.v1.types.WorkerRecord
message WorkerRecord {
  string ID = 1;
  map<string, string> Labels = 2;
  repeated pb.Platform platforms = 3;
  repeated GCPolicy GCPolicy = 4;
  BuildkitVersion BuildkitVersion = 5;
}

package moby.buildkit.v1.apicaps;
// moby.buildkit.v1.apicaps.APICap
message APICap { string ID = 1; bool Enabled = 2; bool Deprecated = 3; string DisabledReason = 4; string DisabledReasonMsg = 5; string DisabledAlternative = 6; }

package moby.buildkit.v1;
// control.proto's messages
message ListWorkersRequest { repeated string filter = 1; }
message ListWorkersResponse { repeated moby.buildkit.v1.types.WorkerRecord record = 1; }
message InfoRequest {}
message InfoResponse { moby.buildkit.v1.types.BuildkitVersion buildkitVersion = 1; }
message DiskUsageRequest { repeated string filter = 1; }
message DiskUsageResponse { repeated UsageRecord record = 1; }
message UsageRecord {
  string ID = 1;
  bool Mutable = 2;
  bool InUse = 3;
  int64 Size = 4;
  string Parent = 5;
  google.protobuf.Timestamp CreatedAt = 6;
  google.protobuf.Timestamp LastUsedAt = 7;
  int64 UsageCount = 8;
  string Description = 9;
  string RecordType = 10;
  bool Shared = 11;
  repeated string Parents = 12;
}
message PruneRequest { repeated string filter = 1; bool all = 2; int64 keepDuration = 3; int64 keepBytes = 4; }
message CacheOptionsEntry { string Type = 1; map<string, string> Attrs = 2; }
message CacheOptions { repeated CacheOptionsEntry Exports = 4; repeated CacheOptionsEntry Imports = 5; }
message SolveRequest {
  string Ref = 1;
  pb.Definition Definition = 2;
  string Exporter = 3;
  map<string, string> ExporterAttrs = 4;
  string Session = 5;
  string Frontend = 6;
  map<string, string> FrontendAttrs = 7;
  CacheOptions Cache = 8;
  repeated string Entitlements = 9;
  map<string, pb.Definition> FrontendInputs = 10;
  bool Internal = 11;
}
message SolveResponse { map<string, string> ExporterResponse = 1; }
message StatusRequest { string Ref = 1; }
message Vertex {
  string digest = 1;
  repeated string inputs = 2;
  string name = 3;
  bool cached = 4;
  google.protobuf.Timestamp started = 5;
  google.protobuf.Timestamp completed = 6;
  string error = 7;
}
message VertexStatus {
  string ID = 1;
  string vertex = 2;
  string name = 3;
  int64 current = 4;
  int64 total = 5;
  google.protobuf.Timestamp timestamp = 6;
  google.protobuf.Timestamp started = 7;
  google.protobuf.Timestamp completed = 8;
}
message VertexLog { string vertex = 1; google.protobuf.Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
message VertexWarning { string vertex = 1; int64 level = 2; bytes short = 3; repeated bytes detail = 4; string url = 5; }
message StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2; repeated VertexLog logs = 3; repeated VertexWarning warnings = 4; }

package moby.buildkit.v1.frontend;
// frontend/gateway/pb/gateway.proto's messages (the LLBBridge service)
message PingRequest {}
message PongResponse {
  repeated moby.buildkit.v1.apicaps.APICap FrontendAPICaps = 1;
  repeated moby.buildkit.v1.apicaps.APICap LLBCaps = 2;
  repeated moby.buildkit.v1.types.WorkerRecord Workers = 3;
}
message Ref { string id = 1; pb.Definition def = 2; }
message RefMap { map<string, Ref> refs = 1; }
message Result {
  oneof result { string refDeprecated = 1; Ref ref = 3; RefMap refs = 4; }
  map<string, bytes> metadata = 10;
}
message CacheOptionsEntry { string Type = 1; map<string, string> Attrs = 2; }
message SolveRequest {
  pb.Definition Definition = 1;
  string Frontend = 2;
  map<string, string> FrontendOpt = 3;
  bool allowResultReturn = 5;
  bool allowResultArrayRef = 6;
  bool Final = 10;
  bytes ExporterAttr = 11;
  repeated CacheOptionsEntry CacheImports = 12;
  map<string, pb.Definition> FrontendInputs = 13;
  bool Evaluate = 14;
}
message SolveResponse { string ref = 1; Result result = 3; }
message ReturnRequest { Result result = 1; google.rpc.Status error = 2; }
message ReturnResponse {}
message FileRange { int64 Offset = 1; int64 Length = 2; }
message ReadFileRequest { string Ref = 1; string FilePath = 2; FileRange Range = 3; }
message ReadFileResponse { bytes Data = 1; }
message WarnRequest { string digest = 1; int64 level = 2; bytes short = 3; repeated bytes detail = 4; string url = 5; }
message WarnResponse {}

package fsutil.types;
// fsutil.types.Stat (tonistiigi/fsutil types/stat.proto); mode is Go's os.FileMode
message Stat {
  string path = 1;
  uint32 mode = 2;
  uint32 uid = 3;
  uint32 gid = 4;
  int64 size = 5;
  int64 modTime = 6;
  string linkname = 7;
  int64 devmajor = 8;
  int64 devminor = 9;
  map<string, bytes> xattrs = 10;
}
// fsutil.types.Packet (types/wire.proto)
message Packet {
  enum PacketType { PACKET_STAT = 0; PACKET_REQ = 1; PACKET_DATA = 2; PACKET_FIN = 3; PACKET_ERR = 4; }
  PacketType type = 1;
  Stat stat = 2;
  uint32 ID = 3;
  bytes data = 4;
}

package moby.filesync.v1;
// session/filesync/filesync.proto: FileSend's chunks (the tar exporter's stream)
message BytesMessage { bytes data = 1; }
// session/auth/auth.proto: registry credentials the client holds
message CredentialsRequest { string Host = 1; }
message CredentialsResponse { string Username = 1; string Secret = 2; }

package moby.buildkit.secrets.v1;
// session/secrets/secrets.proto
message GetSecretRequest { string ID = 1; map<string, string> annotations = 2; }
message GetSecretResponse { bytes data = 1; }

package moby.sshforward.v1;
// session/sshforward/ssh.proto
message BytesMessage { bytes data = 1; }
message CheckAgentRequest { string ID = 1; }
message CheckAgentResponse {}

package grpc.health.v1;
// grpc.health.v1 (the session's health check)
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { int32 status = 1; }
`;

/** protobufjs accepts one `package` per parse: the schema is parsed package by package into one root. */
function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const parts = SCHEMA.split(/^package /m).slice(1);
  for (const part of parts) protobuf.parse(`syntax = "proto3";\npackage ${part}`, root, { keepCase: true });
  root.resolveAll();
  return root;
}

const root = buildRoot();

/** A message type by its full name (e.g. `moby.buildkit.v1.ListWorkersResponse`). */
export interface MessageCodec {
  encode(obj: object): Buffer;
  decode(buf: Uint8Array): Record<string, unknown>;
}

const codecs = new Map<string, MessageCodec>();

export function codec(name: string): MessageCodec {
  let c = codecs.get(name);
  if (c) return c;
  const t = root.lookupType(name);
  c = {
    encode: (obj) => Buffer.from(t.encode(t.fromObject(obj)).finish()),
    decode: (buf) => t.toObject(t.decode(buf), { longs: Number, defaults: true, arrays: true, objects: true, oneofs: true }),
  };
  codecs.set(name, c);
  return c;
}

/** A google.protobuf.Timestamp for a time in milliseconds. */
export function timestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
