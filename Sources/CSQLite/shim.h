#ifndef FEDTRACE_CSQLITE_SHIM_H
#define FEDTRACE_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type fedtrace_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// SQLITE_STATIC is the same kind of macro (a null destructor); Swift cannot import it either.
static inline sqlite3_destructor_type fedtrace_sqlite_static(void) { return SQLITE_STATIC; }

#endif
