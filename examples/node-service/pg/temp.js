'use strict'
// A throw-away PostgreSQL server for the tests (unix socket in a temp dir; as root it runs
// as the postgres user): start() → DSN, restart(), stop().
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

function bindir() {
  const dirs = ['/usr/lib/postgresql'].filter(fs.existsSync).flatMap((d) => fs.readdirSync(d).map((v) => path.join(d, v, 'bin')))
  dirs.sort().reverse()
  const found = dirs.find((d) => fs.existsSync(path.join(d, 'pg_ctl')))
  if (!found) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found')
  return found
}

class TempPostgres {
  constructor(port) {
    this.port = port
    this.bin = bindir()
    this.dir = null
  }
  #run(args) {
    let cmd = path.join(this.bin, args[0])
    let rest = args.slice(1)
    if (process.getuid && process.getuid() === 0) {
      rest = ['-u', 'postgres', '--', cmd, ...rest]
      cmd = 'runuser'
    }
    execFileSync(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-pg-node.'))
    if (process.getuid && process.getuid() === 0) execFileSync('chown', ['postgres', this.dir])
    this.#run(['initdb', '-D', path.join(this.dir, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
    this.#startServer()
    return `host=${this.dir} port=${this.port} user=postgres dbname=postgres`
  }
  #startServer() {
    const opts = `-k ${this.dir} -p ${this.port} -c listen_addresses='' -c fsync=off`
    this.#run(['pg_ctl', '-D', path.join(this.dir, 'data'), '-o', opts, '-l', path.join(this.dir, 'log'), '-w', 'start'])
  }
  restart() {
    this.#run(['pg_ctl', '-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop'])
    this.#startServer()
  }
  stop() {
    if (!this.dir) return
    try {
      this.#run(['pg_ctl', '-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop'])
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true })
      this.dir = null
    }
  }
}

module.exports = { TempPostgres }
