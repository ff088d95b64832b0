"""Imported by cinder-ref's services before cinder: SQLite transactions take the write lock up front.

Three processes (api, scheduler, volume) share one SQLite file. pysqlite starts transactions
lazily, so a transaction that read first and then writes (quota reservations) fails at once
with "database is locked" when another process wrote meanwhile: SQLite cannot wait there.
oslo.db emits its own BEGIN; with BEGIN IMMEDIATE in its place every transaction waits for
the lock (busy_timeout 30 s) instead, which at a recorder's pace costs nothing.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, 'connect')
def _connect(dbapi_con, _record):
    if isinstance(dbapi_con, sqlite3.Connection):
        dbapi_con.execute('pragma busy_timeout = 30000')


@event.listens_for(Engine, 'before_cursor_execute', retval=True)
def _immediate(conn, _cursor, statement, parameters, _context, _executemany):
    # oslo.db already turns pysqlite's implicit transactions off and emits its own BEGIN
    if statement == 'BEGIN' and conn.dialect.name == 'sqlite':
        statement = 'BEGIN IMMEDIATE'
    return statement, parameters
