import { z } from 'zod';

// Placeholder, owned by the controller simulator (issue 4): SSH user/key, nodes' behaviour, faults.
export const controllerScenarioSchema = z.object({}).loose();
export type ControllerScenario = z.infer<typeof controllerScenarioSchema>;
