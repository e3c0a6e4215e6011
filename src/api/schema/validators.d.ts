// Types of the ajv standalone validators that scripts/compile-validators.mjs writes to
// dist/src/api/schema/validators.js at build time (one per body in engine-api.json).
interface CompiledValidator {
  (data: unknown): boolean;
  errors?: Array<{ instancePath: string; keyword: string }> | null;
}
export declare const ContainerCreate: CompiledValidator;
export declare const ContainerUpdate: CompiledValidator;
export declare const Commit: CompiledValidator;
export declare const ExecCreate: CompiledValidator;
export declare const ExecStart: CompiledValidator;
export declare const NetworkCreate: CompiledValidator;
export declare const NetworkConnect: CompiledValidator;
export declare const NetworkDisconnect: CompiledValidator;
export declare const VolumeCreate: CompiledValidator;
export declare const Auth: CompiledValidator;
export declare const PluginPrivileges: CompiledValidator;
export declare const PluginSet: CompiledValidator;
