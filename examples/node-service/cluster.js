'use strict'
// The service on every core: node:cluster forks RECSYS_WORKERS workers (default: the number
// of cores) sharing one port. Each worker holds its own engine and its own change-feed
// listener, so a change made through any worker, or any other process on the same
// PostgreSQL, is served by all of them within milliseconds. A worker that dies is replaced
// and converges from the store on start.
//
//   RECSYS_PG_DSN='host=/tmp/pg port=5432 user=postgres dbname=postgres' PORT=8080 node cluster.js

const cluster = require('node:cluster')
const os = require('node:os')
const service = require('./server.js')
const { migrate } = require('./pg/store.js')

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}

if (cluster.isPrimary) {
  const options = service.optionsFromEnv(arg)
  const workers = Number(process.env.RECSYS_WORKERS || os.availableParallelism())
  // Migrate once before forking, so workers start on a ready schema.
  const ready = options.dsn ? migrate(options.dsn) : Promise.resolve()
  ready.then(
    () => {
      let stopping = false
      for (let i = 0; i < workers; i++) cluster.fork()
      cluster.on('exit', (worker, code, signal) => {
        if (stopping) return
        // A second later, so a worker that cannot start does not spin.
        console.error(`worker ${worker.process.pid} exited (${signal || code}); starting another in 1 s`)
        setTimeout(() => stopping || cluster.fork(), 1000)
      })
      const stop = () => {
        stopping = true
        for (const w of Object.values(cluster.workers)) w.kill()
      }
      process.on('SIGTERM', stop)
      process.on('SIGINT', stop)
    },
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
} else {
  service.start(service.optionsFromEnv(arg)).then(
    ({ url }) => console.log(`recsys node-service worker ${process.pid} on ${url}`),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
