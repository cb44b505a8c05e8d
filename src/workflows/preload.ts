/**
 * Evaluated once per worker, before any workflow exists, and shared by every workflow of the
 * reusable V8 context (src/dev/bundle.ts `workflowPreloadModules`): zod, which otherwise costs each
 * cached workflow ~0.7 MB of its own module instances. The SDK deep-freezes what is preloaded, so
 * zod's lazily written globals are written here first: its default locale and memoizer (globalConfig)
 * and the `allowsEval` probe. Nothing here depends on a workflow: no per-workflow state is shared.
 */
import { z } from 'zod';
import { util } from 'zod/v4/core';

z.config(z.locales.en());
// Constructing one schema sets the remaining defaults (the memoizer) the way zod does it lazily.
z.object({ warm: z.string() }).safeParse({ warm: 'up' });
void util.allowsEval.value;
