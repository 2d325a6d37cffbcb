/** The child-process helpers against small `node -e` children: output, exit status, bounds. */
import { LineProcess, runChecked, runProcess } from '@msgin5g/test-support';

const node = process.execPath;

describe('runProcess', () => {
  it('collects stdout and stderr and resolves the exit code, non-zero included', async () => {
    const r = await runProcess(node, ['-e', 'process.stdout.write("out\\n"); process.stderr.write("err"); process.exitCode = 3']);
    expect(r).toEqual({ code: 3, signal: null, stdout: 'out\n', stderr: 'err', timedOut: false });
  });

  it('kills a child that outlives timeoutMs and says so', async () => {
    const started = Date.now();
    const r = await runProcess(node, ['-e', 'setTimeout(() => {}, 60000)'], { timeoutMs: 300 });
    expect(r).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('passes env, and rejects when the command does not exist', async () => {
    await expect(runProcess(node, ['-e', 'process.stdout.write(process.env.M5_X)'], { env: { M5_X: 'y' } })).resolves.toMatchObject({ stdout: 'y', code: 0 });
    await expect(runProcess('/nonexistent/m5-command', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('runChecked', () => {
  it('resolves on exit 0 and rejects with the exit code and stderr otherwise', async () => {
    await expect(runChecked(node, ['-e', 'console.log("fine")'])).resolves.toMatchObject({ stdout: 'fine\n' });
    await expect(runChecked(node, ['-e', 'console.error("broken"); console.log("said"); process.exit(4)'])).rejects.toThrow(/: exit 4\nstderr: broken\n\nstdout: said\n/);
  });
});

describe('LineProcess', () => {
  it('waits for a line printed before or after the call, on stdout or stderr', async () => {
    const p = LineProcess.start(node, ['-e', 'console.log("first"); setTimeout(() => { console.error("late on stderr"); console.log("second") }, 200); setTimeout(() => {}, 2000)']);
    try {
      await expect(p.waitForLine((l) => l === 'second')).resolves.toBe('second');
      await expect(p.waitForLine((l) => l === 'first')).resolves.toBe('first');
      await expect(p.waitForLine((l) => l.startsWith('late'), { stream: 'stderr' })).resolves.toBe('late on stderr');
      expect(p.stdout).toEqual(['first', 'second']);
    } finally {
      await p.stop('SIGKILL');
    }
  });

  it('rejects a wait when the child exits first, with its stderr, and when the time is up', async () => {
    const gone = LineProcess.start(node, ['-e', 'console.error("bad flag"); process.exit(2)'], { name: 'gone' });
    await expect(gone.waitForLine(() => false, { what: 'the ready line' })).rejects.toThrow(/gone exited \(code 2\) before printing the ready line on stdout[\s\S]*bad flag/);
    await expect(gone.exited).resolves.toEqual({ code: 2, signal: null });

    const quiet = LineProcess.start(node, ['-e', 'setTimeout(() => {}, 10000)'], { name: 'quiet' });
    try {
      await expect(quiet.waitForLine(() => true, { timeoutMs: 200 })).rejects.toThrow(/quiet: no a matching line on stdout within 200 ms/);
    } finally {
      await quiet.stop('SIGKILL');
    }
  });

  it('parses JSON lines, and rejects a wait past a line that is not JSON', async () => {
    const p = LineProcess.start(node, ['-e', 'console.log(JSON.stringify({ msg: "a", n: 1 })); console.log("plain"); console.log(JSON.stringify({ msg: "b" }))']);
    await p.exited;
    await expect(p.waitForJson((l) => l['msg'] === 'a')).resolves.toEqual({ msg: 'a', n: 1 });
    await expect(p.waitForJson((l) => l['msg'] === 'b')).rejects.toThrow(/stdout line is not JSON: plain/);
    expect(() => p.jsonLines()).toThrow(SyntaxError);
  });

  it('stop() sends the signal, then SIGKILL after the bound when the child ignores it', async () => {
    const p = LineProcess.start(node, ['-e', 'process.on("SIGTERM", () => console.log("ignored")); console.log("ready"); setTimeout(() => {}, 30000)']);
    await p.waitForLine((l) => l === 'ready');
    const started = Date.now();
    await expect(p.stop('SIGTERM', 300)).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(p.stdout).toContain('ignored');
    await expect(p.stop()).resolves.toEqual({ code: null, signal: 'SIGKILL' }); // already stopped: the same status
  });

  it('a command that cannot start exits with code null and names the spawn error', async () => {
    const p = LineProcess.start('/nonexistent/m5-command', []);
    await expect(p.waitForLine(() => true)).rejects.toThrow(/exited[\s\S]*spawn error: .*ENOENT/);
  });
});
