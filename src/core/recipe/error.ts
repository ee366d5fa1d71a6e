import type { FieldViolation } from '../errors.js';

/** A recipe that cannot be used. `violations` lists every problem found, each naming its recipe path. */
export class RecipeError extends Error {
  constructor(readonly violations: FieldViolation[]) {
    const n = violations.length;
    super(`${n} problem${n === 1 ? '' : 's'} in the recipe: ${violations.map((v) => v.message).join('; ')}`);
    this.name = 'RecipeError';
  }
}
