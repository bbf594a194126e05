/** Messages of a replay session's runner actor. */
export type ReplayMsg =
  /** Run the session from its cursor; `epoch` is the claim this node made (a later claim by anyone stops this run). */
  | { type: 'Begin'; epoch: number }
  /** Do the next step; only the step of the current `tick` counts (a poke starts a new tick). */
  | { type: 'Step'; tick: number }
  /** An admin changed what the session should do: read the stored session now rather than at the next poll. */
  | { type: 'Poke' };

export const begin = (epoch: number): ReplayMsg => ({ type: 'Begin', epoch });
export const step = (tick: number): ReplayMsg => ({ type: 'Step', tick });
export const poke = (): ReplayMsg => ({ type: 'Poke' });
