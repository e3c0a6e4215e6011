/**
 * fsutil's wire format as both directions of a session's DiffCopy use it (filesync.ts receives,
 * filesend.ts sends): the packet codec, the packet types and Go's os.FileMode bits of Stat.mode.
 */
import { codec } from './proto.js';

export const packetCodec = codec('fsutil.types.Packet');

export const PACKET = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

/** Go's os.FileMode bits (fsutil's Stat.mode); the directory bit, 1 << 31, each side writes as its arithmetic needs. */
export const GO_SYMLINK = 1 << 27;
export const GO_SETUID = 1 << 23;
export const GO_SETGID = 1 << 22;
export const GO_STICKY = 1 << 20;
