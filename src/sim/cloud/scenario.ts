import { z } from 'zod';

// Placeholder, owned by the OpenStack simulator (issue 3): latencies and faults of the cloud.
export const cloudScenarioSchema = z.object({}).loose();
export type CloudScenario = z.infer<typeof cloudScenarioSchema>;
