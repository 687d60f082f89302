// Searching as the person types: a short pause before asking, and an answer is used only if no newer search began.

const PAUSE_MS = 150;

/** Wraps `search(q)`; the wrapper resolves with its answer, or null when a newer call superseded it. */
export function newestOnly(search) {
  let asked = 0;
  return async (q) => {
    const mine = ++asked;
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    if (mine !== asked) return null;
    const answer = await search(q);
    return mine === asked ? answer : null;
  };
}
