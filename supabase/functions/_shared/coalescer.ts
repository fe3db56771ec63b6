/**
 * Request coalescing (group commit): concurrent requests that would each make the same SQL call with
 * different rows share one call, so one transaction, one commit and one round trip serve them all.
 *
 * Requests are grouped by a key naming everything their call has in common besides the rows. A key's
 * first request runs at once; while `maxInFlight` calls of that key are running, later requests wait in
 * a group that runs as soon as one of them finishes, so the groups grow with the load and nothing waits
 * when there is none. A request never shares a group with a request it conflicts with (its `tags`, e.g.
 * the candidates' emails: the SQL call takes each once): it joins or opens a later group instead.
 *
 * The group's call is all or nothing, like each request's own call: its result is split into one per
 * member. When it fails, nothing was written for any member. An error that can only be the whole group's
 * (a refusal of the caller they share, a deadline, a connection lost with the outcome unknown) is every
 * member's error; one that may come from one member's rows (`separable`) sends each member again on its
 * own, so that only the request that caused it fails.
 */

/** One request's part of a group's call. */
export interface Member<Row> {
  rows: Row[];
  /** When this request must be answered by (epoch ms): the group's call runs under its members' earliest. */
  deadline: number;
}

export interface CoalescerOptions<Shape, Row, Result> {
  /** Calls of one key running at once; a hot key's requests queue behind them in growing groups. */
  maxInFlight: number;
  /** A group's rows at most (a request with more runs alone). */
  maxRows: number;
  /** Makes a group's one call; resolves with one result per member, in order. */
  run(shape: Shape, members: Member<Row>[], deadline: number): Promise<Result[]>;
  /** Whether a group's call that failed with `err` wrote nothing, and the error may be one member's. */
  separable(err: unknown): boolean;
}

interface Waiting<Row, Result> extends Member<Row> {
  resolve(result: Result): void;
  reject(err: unknown): void;
}

interface Group<Shape, Row, Result> {
  shape: Shape;
  members: Waiting<Row, Result>[];
  rows: number;
  tags: Set<string>;
}

interface Lane<Shape, Row, Result> {
  running: number;
  groups: Group<Shape, Row, Result>[];
}

export type Coalescer<Shape, Row, Result> = (
  key: string,
  shape: Shape,
  member: Member<Row>,
  tags: readonly string[],
) => Promise<Result>;

export function createCoalescer<Shape, Row, Result>(
  options: CoalescerOptions<Shape, Row, Result>,
): Coalescer<Shape, Row, Result> {
  const lanes = new Map<string, Lane<Shape, Row, Result>>();

  function runNext(key: string, lane: Lane<Shape, Row, Result>): void {
    while (lane.running < options.maxInFlight && lane.groups.length > 0) {
      const group = lane.groups.shift()!;
      lane.running++;
      const deadline = Math.min(...group.members.map((member) => member.deadline));
      const { shape, members } = group;
      options.run(shape, members, deadline).then(
        (results) => members.forEach((member, i) => member.resolve(results[i])),
        async (err) => {
          if (members.length === 1 || !options.separable(err)) {
            members.forEach((member) => member.reject(err));
            return;
          }
          await Promise.all(members.map((member) =>
            options.run(shape, [member], member.deadline).then(
              ([result]) => member.resolve(result),
              (own) => member.reject(own),
            )
          ));
        },
      ).finally(() => {
        lane.running--;
        if (lane.running === 0 && lane.groups.length === 0) lanes.delete(key);
        else runNext(key, lane);
      });
    }
  }

  return (key, shape, member, tags) =>
    new Promise<Result>((resolve, reject) => {
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, lane = { running: 0, groups: [] });
      const fits = (group: Group<Shape, Row, Result>) =>
        group.rows + member.rows.length <= options.maxRows && !tags.some((tag) => group.tags.has(tag));
      let group = lane.groups.find(fits);
      if (!group) {
        group = { shape, members: [], rows: 0, tags: new Set() };
        lane.groups.push(group);
      }
      group.members.push({ ...member, resolve, reject });
      group.rows += member.rows.length;
      for (const tag of tags) group.tags.add(tag);
      runNext(key, lane);
    });
}
