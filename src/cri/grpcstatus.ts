/**
 * A CRI failure whose gRPC code has no BerthError category (DeadlineExceeded for an ExecSync
 * past its timeout); server.ts answers it as given, everything else goes through api/errors.ts.
 */
export const DEADLINE_EXCEEDED = 4;

export class GrpcStatusError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}
