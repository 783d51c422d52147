/**
 * The one place that imports TensorFlow.js core. Importing this module registers the gradients and
 * chained ops that `@tensorflow/tfjs-core` alone does not register (the registries are process-global,
 * so this coexists with a user who also loads `@tensorflow/tfjs` or `@tensorflow/tfjs-node`).
 * @internal
 * @module
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
