// gw_bench.js - the peer side of the task engine benchmark: graphile-worker
// draining no-op jobs. `node gw_bench.js URL migrate|add N|work CONCURRENCY`.
// `work` runs until the job table is empty, then prints the jobs it ran.
const { Logger, run, runMigrations } = require("graphile-worker");
const { Pool } = require("pg");

const [url, cmd, arg] = process.argv.slice(2);

async function add(n) {
  const pool = new Pool({ connectionString: url });
  await pool.query(
    "SELECT graphile_worker.add_jobs(array_agg(('noop', '{}'::json, NULL, NULL, NULL, NULL," +
      " NULL, NULL)::graphile_worker.job_spec)) FROM generate_series(1, $1::int)",
    [n],
  );
  await pool.end();
}

async function work(concurrency) {
  let ran = 0;
  const pool = new Pool({ connectionString: url, max: 4 });
  const runner = await run({
    connectionString: url,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
    logger: new Logger(() => (level, message) => {
      if (level === "error") console.error(message);
    }),
    taskList: { noop: async () => { ran++; } },
  });
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const r = await pool.query("SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs)");
    if (!r.rows[0].exists) break;
  }
  await runner.stop();
  await pool.end();
  console.log(JSON.stringify({ ran }));
}

(async () => {
  if (cmd === "migrate") await runMigrations({ connectionString: url });
  else if (cmd === "add") await add(Number(arg));
  else if (cmd === "work") await work(Number(arg));
  else throw new Error("usage: gw_bench.js URL migrate|add N|work CONCURRENCY");
})().catch((e) => { console.error(e); process.exit(1); });
