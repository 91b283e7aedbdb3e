/** Activities that answer at once: the floor measures what Temporal costs, not what they do. */
export const floorActivities = {
  async step(n: number): Promise<number> {
    return n;
  },
  async outcome(): Promise<void> {
    // nothing
  },
};

export type FloorActivities = typeof floorActivities;
