/**
 * The part of the Standard Schema interface (https://standardschema.dev, v1) the client reads, so
 * any validator that implements it (zod ≥ 3.24, valibot, ArkType, …) checks payloads without
 * the client depending on one. Declared here, as the spec intends, rather than imported.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    /** Type-only (never read at runtime). */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A validation result: the (possibly transformed) value, or the issues found. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }> };

/** The type a schema outputs. */
export type SchemaOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];
