/**
 * Loads the live UI (Ink and React; 0.5-1 s on a 2-core machine, so only ever through this import()
 * and only when it is used) with React's production build. React picks its build from NODE_ENV when
 * it is first loaded, and the development build doubles the CPU time of every frame. NODE_ENV is
 * restored afterwards, so nothing else in the process (or workers started later) sees a change.
 */
export async function loadInk(): Promise<typeof import('./ink/start.js')> {
  const before = process.env['NODE_ENV'];
  if (before === undefined) process.env['NODE_ENV'] = 'production';
  try {
    return await import('./ink/start.js');
  } finally {
    if (before === undefined) delete process.env['NODE_ENV'];
  }
}
