#ifndef CTRL_ALLOCDB_H
#define CTRL_ALLOCDB_H

/*
 * allocdb: the durable local record of the ClusterIP and NodePort
 * allocators (allocator.md §8.1, §8.2), one sqlite database file.
 *
 * It stores, for each configured range (e.g. "ipv4" "10.96.0.0/16",
 * "nodeport" "30000-32767"), the range's spec string and size, and for
 * every allocated value one owner row: namespace, name, uid ("" for a
 * tentative reservation made before the Service exists), the field it is
 * for ("spec.clusterIPs[0]", "spec.ports[1].nodePort"), the wall-clock
 * time it was taken and whether the watch confirmed it; plus a meta table
 * (schema version, last successful repair time). The owner rows are the
 * bitmap: allocdb_load rebuilds it from their keys, so one allocation
 * writes one small row on one 512-byte page (more when the B-tree
 * splits) and nothing else; the chunked bitmap of allocator.md §8.2
 * would add a second page per value.
 *
 * Invariants: a value's bit is set if and only if it has an owner row;
 * no owner row lies at or beyond a range's size. Bit i of a range is
 * "offset i"; the caller maps offsets to addresses/ports.
 *
 * The Services in the API are the truth (§1): this record is rebuilt from
 * them by the repair pass (allocdb_replace). Leak counters are not stored
 * here: they start empty at every takeover (§8.3), so the repair layer
 * keeps them in memory.
 *
 * Durability: every mutating call is one transaction (BEGIN IMMEDIATE …
 * COMMIT) committed before it returns, with journal_mode=WAL and
 * synchronous=FULL by default, so a value is durable before anyone is
 * told. On any error the transaction is rolled back and nothing changes.
 *
 * Thread safety: all calls are thread-safe. One sqlite connection sits
 * behind the object's own mutex, held only across sqlite calls. Calls may
 * block on disk I/O (fsync) and on the busy timeout.
 */

/* Largest range: a /12 of IPv4 (§2.2) has 2^20 addresses. */
#define ALLOCDB_MAX_RANGE_SIZE ((uint64_t)1 << 20)
/* Longest owner strings accepted (a DNS subdomain name is 253). */
#define ALLOCDB_MAX_STR 256

struct allocdb;

/* One configured range. All strings are borrowed during allocdb_new. */
struct allocdb_range {
	const char *name; /* "ipv4", "ipv6", "nodeport"; unique */
	const char *spec; /* "10.96.0.0/16", "30000-32767" */
	uint64_t size;	  /* number of values, 1..ALLOCDB_MAX_RANGE_SIZE */
};

struct allocdb_options {
	const char *path;		    /* --allocator-db, or ":memory:" */
	const struct allocdb_range *ranges; /* the configured ranges */
	size_t nranges;
	/*
	 * --allocator-rebuild: a file that would be refused is moved aside
	 * (renamed with a timestamp, never deleted) and an empty record is
	 * started; the caller then rebuilds it from the API.
	 */
	bool rebuild;
	bool sync_normal;    /* synchronous=NORMAL instead of FULL */
	int busy_timeout_ms; /* 0: 5000 */
};

/* One allocated value with its owner; strings owned by the entry. */
struct allocdb_entry {
	uint64_t offset;  /* bit number in the range */
	char *ns;	  /* namespace */
	char *name;	  /* Service name */
	char *uid;	  /* "" while tentative */
	char *field;	  /* "spec.clusterIPs[0]" */
	int64_t taken_ms; /* wall clock when reserved */
	bool confirmed;	  /* seen in a Service by the watch */
};

enum allocdb_op {
	ALLOCDB_SET = 1, /* allocate: the value must be free */
	ALLOCDB_CLEAR,	 /* release: a free value is a no-op */
};

/* One change of a batch; strings borrowed for the call. */
struct allocdb_change {
	const char *range;
	uint64_t offset;
	enum allocdb_op op;
	/*
	 * SET: the owner (ns, name, field required; uid NULL or "" while
	 * tentative). CLEAR: ns and name NULL to release whoever owns the
	 * value, or set to release it only from that owner.
	 */
	const char *ns;
	const char *name;
	const char *uid;
	const char *field;
	bool confirmed; /* SET only */
};

/* The content of one range, for allocdb_replace. */
struct allocdb_content {
	const char *range;
	const struct allocdb_entry *entries; /* borrowed */
	size_t n;
};

struct allocdb_counts {
	uint64_t size;	    /* the range's size */
	uint64_t used;	    /* values allocated */
	uint64_t tentative; /* of those, not yet confirmed */
};

/* ---- Life cycle ------------------------------------------------------ */

/*
 * Opens or creates the record at opts->path and checks it: PRAGMA
 * quick_check, our application_id and schema version, the stored range
 * specs against opts->ranges, and owner rows against the ranges. A file
 * that is not a database, is corrupt, belongs to another application or
 * to a newer schema version, has a different range spec (or a stored
 * range no longer configured) or is inconsistent is refused with ERR_DB
 * and a message naming the file, the reason and the sqlite message; with
 * opts->rebuild it is instead moved aside (allocdb_moved_to) and an empty
 * record is started, a warning naming both paths is logged, and eb holds
 * the same line although the call succeeds. A file of an older schema
 * version of ours is moved aside that way even without opts->rebuild
 * ("older schema version, rebuilt from the Services"): the Services are
 * the truth, and the caller's repair pass refills the record. New files
 * get 512-byte pages. ERR_INVALID for bad options. Blocks.
 */
enum err allocdb_new(const struct allocdb_options *opts, struct allocdb **out,
		     struct errbuf *eb) ATTR_WUR;
/* Closes the connection. NULL is a no-op. No call may be in progress. */
void allocdb_free(struct allocdb *db);
/* Where allocdb_new moved a refused file, or NULL; owned by db. */
const char *allocdb_moved_to(const struct allocdb *db);

/* ---- Queries --------------------------------------------------------- */

/*
 * Fills words[0 .. (size + 63) / 64) with the range's bitmap, bit i of the
 * range being bit i % 64 of words[i / 64]. ERR_INVALID for an unknown
 * range or nwords too small.
 */
enum err allocdb_load(struct allocdb *db, const char *range, uint64_t *words,
		      size_t nwords, struct errbuf *eb) ATTR_WUR;
/* The owner of a value; ERR_NOT_FOUND when it is free. Release *out with
 * allocdb_entry_release. */
enum err allocdb_lookup(struct allocdb *db, const char *range, uint64_t offset,
			struct allocdb_entry *out, struct errbuf *eb) ATTR_WUR;
/* All allocated values of a range by increasing offset; *out (NULL when
 * *n is 0) is freed with allocdb_entries_free. */
enum err allocdb_list(struct allocdb *db, const char *range,
		      struct allocdb_entry **out, size_t *n,
		      struct errbuf *eb) ATTR_WUR;
enum err allocdb_count(struct allocdb *db, const char *range,
		       struct allocdb_counts *out, struct errbuf *eb) ATTR_WUR;
/* Last successful repair time (ms since the epoch), 0 if never. */
enum err allocdb_last_repair(struct allocdb *db, int64_t *out_ms,
			     struct errbuf *eb) ATTR_WUR;

void allocdb_entry_release(struct allocdb_entry *e);
void allocdb_entries_free(struct allocdb_entry *v, size_t n);

/* ---- Mutation: one durable transaction per call ------------------------ */

/*
 * Applies changes in order, in one transaction, stamping SETs with the
 * current wall clock. Fails, changing nothing, with ERR_CONFLICT when a
 * SET finds its value taken or a CLEAR names another owner (the message
 * names range, offset and owner), ERR_INVALID for an unknown range, an
 * offset out of range or a missing or too long owner string, ERR_DB for
 * sqlite errors. Blocks until the commit is durable.
 */
enum err allocdb_apply(struct allocdb *db, const struct allocdb_change *ch,
		       size_t n, struct errbuf *eb) ATTR_WUR;
/*
 * Marks a value confirmed by the watch and attaches uid when the stored
 * one is empty (uid NULL or "" leaves it). ERR_NOT_FOUND when the value is
 * free, ERR_CONFLICT when it has another non-empty uid.
 */
enum err allocdb_confirm(struct allocdb *db, const char *range, uint64_t offset,
			 const char *uid, struct errbuf *eb) ATTR_WUR;
/*
 * Replaces the whole content of the given ranges (the repair pass result)
 * and, when repair_ms > 0, the last repair time, in one transaction.
 * ERR_INVALID for an unknown range, an offset out of range, a duplicate
 * offset or a bad owner string; nothing changes on any error.
 */
enum err allocdb_replace(struct allocdb *db, const struct allocdb_content *c,
			 size_t n, int64_t repair_ms,
			 struct errbuf *eb) ATTR_WUR;
enum err allocdb_set_last_repair(struct allocdb *db, int64_t ms,
				 struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_ALLOCDB_H */
