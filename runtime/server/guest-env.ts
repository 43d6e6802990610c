// The environment variables a guest sees, as on the platform.
export function guestEnvironment(overrides: { serviceVersion?: number; hostname?: string } = {}): Record<string, string> {
  return {
    FASTLY_CACHE_GENERATION: "0",
    FASTLY_CUSTOMER_ID: "0000000000000000000000",
    FASTLY_HOSTNAME: overrides.hostname ?? "localhost",
    FASTLY_IS_STAGING: "0",
    FASTLY_POP: "LCL",
    FASTLY_REGION: "Local",
    FASTLY_SERVICE_ID: "0000000000000000000000",
    FASTLY_SERVICE_VERSION: String(overrides.serviceVersion ?? 0),
  };
}
