/*-------------------------------------------------------------------------
 *
 * keytrunc.c
 *	  Grouping keys that truncate the event time, computed by arithmetic.
 *
 * A view grouped by date_trunc('day', ts), date_trunc('hour', ts, 'UTC')
 * or date_trunc('minute', ts) over a timestamp column calls the function
 * for every event it captures: it breaks the time into fields in the zone,
 * clears the small ones and puts them together again, and the form with a
 * zone argument looks the zone up by name each time (for 'UTC' a fixed
 * offset's zone built by name in a hash table). In a zone with a single
 * UTC offset at all times (UTC, Etc/GMT-3, fixed abbreviations such as EST)
 * and for units of a day or less, all of that is a floor to a multiple of
 * the unit in local time: trunc(ts) = floor((ts + off) / unit) * unit - off.
 * Capture computes such keys so (keytrunc_value), for the timestamps well
 * inside the range; every other value, zone and unit goes to the function
 * itself, with its errors. The same holds of a column's local time in such
 * a zone, ts AT TIME ZONE 'UTC' (ts + off), and of its truncation,
 * date_trunc('hour', ts AT TIME ZONE 'UTC'), the spelling of a time bucket
 * that CREATE's TimeZone warning suggests; of the date of a column's time,
 * ts::date, (ts AT TIME ZONE 'UTC')::date; and of date_bin('5 minutes', ts,
 * origin), which involves no zone, for times at or after the origin.
 *
 * In a zone whose offset changes, the local time of ts takes the offset at
 * ts: truncations to an hour or less and local times are computed with it
 * (looked up once for the stretch of time up to the zone's next
 * transition). A truncation to a day there, and to a week or a longer unit
 * anywhere, takes the offset at the local midnight it gives; it depends
 * on the local date alone, and dates of one day, week, month, quarter or
 * year truncate alike, so the value of the view's key expression for the
 * last such bucket is kept (keytrunc_remember) and the expression evaluated
 * again only for a new one.
 *
 * The zone is what the function would use at the moment: the session's
 * TimeZone (date_trunc(unit, timestamptz)), or the named zone as looked up
 * under timezone_abbreviations (and TimeZone, whose own abbreviations the
 * newest majors consult first). keytrunc_prepare resolves it again whenever
 * either setting is not the one it was resolved under (a pointer and a
 * short string compared); capture calls it before each batch of rows and
 * before each single row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"

#include "compat.h"
#include "keytrunc.h"

/* A column of the event table of type type (a Var of its row): into *col. */
static bool
keytrunc_match_column(Node *node, Oid type, AttrNumber *col)
{
	Var		   *var;

	if (node == NULL || !IsA(node, Var))
		return false;
	var = (Var *) node;
	if (var->varno != 1 || var->varlevelsup != 0 || var->varattno <= 0 || var->vartype != type)
		return false;
	*col = var->varattno;
	return true;
}

/* node as a non-null text constant, or NULL */
static text *
keytrunc_text_const(Node *node)
{
	Const	   *c = (Const *) node;

	if (node == NULL || !IsA(node, Const) || c->constisnull || c->consttype != TEXTOID)
		return NULL;
	return DatumGetTextPP(c->constvalue);
}

/* A zone name as the functions read it: at most TZ_STRLEN_MAX bytes */
static char *
keytrunc_zone_name(text *zone)
{
	char		tzname[TZ_STRLEN_MAX + 1];

	text_to_cstring_buffer(zone, tzname, sizeof(tzname));
	return pstrdup(tzname);
}

/*
 * A timestamptz column of the event table shifted to a constant zone's
 * local time, "column AT TIME ZONE 'zone'" (timezone(zone, column)): the
 * column into *col and the zone into *zone; false for anything else.
 */
static bool
keytrunc_match_at_zone(Node *node, AttrNumber *col, char **zone)
{
	FuncExpr   *fe = (FuncExpr *) node;
	text	   *name;

	if (node == NULL || !IsA(node, FuncExpr) ||
		fe->funcid != F_TIMEZONE_TEXT_TIMESTAMPTZ || list_length(fe->args) != 2 ||
		(name = keytrunc_text_const(linitial(fe->args))) == NULL ||
		!keytrunc_match_column(lsecond(fe->args), TIMESTAMPTZOID, col))
		return false;
	*zone = keytrunc_zone_name(name);
	return true;
}

/*
 * date_bin(stride, column, origin) of a timestamp or timestamptz column
 * with a constant stride of days and time (no months), greater than zero,
 * and a finite constant origin: the stride and origin into *stride and
 * *origin. false for anything else, and for what the function refuses.
 */
static bool
keytrunc_match_bin(Expr *expr, AttrNumber *col, int64 *stride, int64 *origin)
{
	FuncExpr   *fe = (FuncExpr *) expr;
	Oid			type;
	Node	   *stridearg;
	Node	   *originarg;
	Interval   *iv;
	Timestamp	o;

	if (fe->funcid == F_DATE_BIN_INTERVAL_TIMESTAMP_TIMESTAMP)
		type = TIMESTAMPOID;
	else if (fe->funcid == F_DATE_BIN_INTERVAL_TIMESTAMPTZ_TIMESTAMPTZ)
		type = TIMESTAMPTZOID;
	else
		return false;
	if (list_length(fe->args) != 3)
		return false;
	stridearg = linitial(fe->args);
	originarg = lthird(fe->args);
	if (!IsA(stridearg, Const) || ((Const *) stridearg)->constisnull ||
		((Const *) stridearg)->consttype != INTERVALOID ||
		!IsA(originarg, Const) || ((Const *) originarg)->constisnull ||
		((Const *) originarg)->consttype != type ||
		!keytrunc_match_column(lsecond(fe->args), type, col))
		return false;
	iv = DatumGetIntervalP(((Const *) stridearg)->constvalue);
	o = DatumGetTimestamp(((Const *) originarg)->constvalue);
	if (iv->month != 0 || TIMESTAMP_NOT_FINITE(o) ||
		pg_mul_s64_overflow(iv->day, USECS_PER_DAY, stride) ||
		pg_add_s64_overflow(*stride, iv->time, stride) || *stride <= 0)
		return false;
	*origin = o;
	return true;
}

/*
 * What capture computes of expr (a planned grouping key), or NULL:
 * date_trunc of a timestamp or timestamptz column of the event table to a
 * constant unit of a day or less, with no zone, the session's or a
 * constant one; date_trunc of such a column's local time in a constant
 * zone (date_trunc(unit, ts AT TIME ZONE 'zone')); that local time itself;
 * the date of either (ts::date, (ts AT TIME ZONE 'zone')::date);
 * date_bin of a column with a constant stride and origin (a sliding
 * window's step key among them). Allocated in the current memory context.
 */
KeyTrunc *
keytrunc_match(Expr *expr)
{
	FuncExpr   *fe;
	KeyTruncZone zone;
	Oid			argtype;
	Node	   *colarg;
	AttrNumber	col;
	char	   *zonename = NULL;
	bool		local = false;
	bool		todate = false;
	bool		bin = false;
	int			field = DTK_DAY;
	int64		origin = 0;
	char	   *lowunits;
	text	   *units = NULL;
	int			type;
	int			val;
	int64		unit;
	KeyTrunc   *kt;

	if (expr == NULL || !IsA(expr, FuncExpr))
		return NULL;
	fe = (FuncExpr *) expr;
	if (keytrunc_match_bin(expr, &col, &unit, &origin))
	{
		zone = KEYTRUNC_NONE;
		bin = true;
		goto matched;
	}
	if ((fe->funcid == F_DATE_TIMESTAMPTZ || fe->funcid == F_DATE_TIMESTAMP) &&
		list_length(fe->args) == 1)
	{
		/*
		 * the date of the column: in the session's TimeZone (ts::date), of a
		 * timestamp, of a local time in a zone ((ts AT TIME ZONE 'z')::date)
		 */
		Node	   *arg = linitial(fe->args);

		if (fe->funcid == F_DATE_TIMESTAMPTZ && keytrunc_match_column(arg, TIMESTAMPTZOID, &col))
			zone = KEYTRUNC_SESSION;
		else if (fe->funcid == F_DATE_TIMESTAMP && keytrunc_match_column(arg, TIMESTAMPOID, &col))
			zone = KEYTRUNC_NONE;
		else if (fe->funcid == F_DATE_TIMESTAMP && keytrunc_match_at_zone(arg, &col, &zonename))
			zone = KEYTRUNC_NAMED;
		else
			return NULL;
		unit = USECS_PER_DAY;
		local = true;
		todate = true;
		goto matched;
	}
	if (keytrunc_match_at_zone((Node *) expr, &col, &zonename))
	{
		/* the local time alone: a truncation to the microsecond */
		unit = 1;
		zone = KEYTRUNC_NAMED;
		local = true;
		goto matched;
	}
	switch (fe->funcid)
	{
		case F_DATE_TRUNC_TEXT_TIMESTAMP:
			zone = KEYTRUNC_NONE;
			argtype = TIMESTAMPOID;
			break;
		case F_DATE_TRUNC_TEXT_TIMESTAMPTZ:
			zone = KEYTRUNC_SESSION;
			argtype = TIMESTAMPTZOID;
			break;
		case F_DATE_TRUNC_TEXT_TIMESTAMPTZ_TEXT:
			zone = KEYTRUNC_NAMED;
			argtype = TIMESTAMPTZOID;
			break;
		default:
			return NULL;
	}
	if (list_length(fe->args) != (zone == KEYTRUNC_NAMED ? 3 : 2))
		return NULL;
	units = keytrunc_text_const(linitial(fe->args));
	colarg = lsecond(fe->args);
	if (units == NULL)
		return NULL;
	if (zone == KEYTRUNC_NONE && keytrunc_match_at_zone(colarg, &col, &zonename))
	{
		/* date_trunc(unit, ts AT TIME ZONE 'zone'): in that zone's local time */
		zone = KEYTRUNC_NAMED;
		local = true;
	}
	else if (!keytrunc_match_column(colarg, argtype, &col))
		return NULL;
	if (zone == KEYTRUNC_NAMED && !local)
	{
		text	   *name = keytrunc_text_const(lthird(fe->args));

		if (name == NULL)
			return NULL;
		zonename = keytrunc_zone_name(name);
	}

	/* the unit as the function reads it */
	lowunits = downcase_truncate_identifier(VARDATA_ANY(units), VARSIZE_ANY_EXHDR(units), false);
	type = DecodeUnits(0, lowunits, &val);
	if (type != UNITS)
		return NULL;
	switch (val)
	{
		case DTK_DAY:
			unit = USECS_PER_DAY;
			break;
		case DTK_HOUR:
			unit = USECS_PER_HOUR;
			break;
		case DTK_MINUTE:
			unit = USECS_PER_MINUTE;
			break;
		case DTK_SECOND:
			unit = USECS_PER_SEC;
			break;
		case DTK_MILLISEC:
			unit = 1000;
			break;
		case DTK_MICROSEC:
			unit = 1;
			break;
		case DTK_WEEK:
		case DTK_MONTH:
		case DTK_QUARTER:
		case DTK_YEAR:
		case DTK_DECADE:
		case DTK_CENTURY:
		case DTK_MILLENNIUM:
			/* the calendar's: the key's value kept per bucket */
			unit = USECS_PER_DAY;
			break;
		default:
			return NULL;
	}
	field = val;

matched:
	kt = palloc0(sizeof(KeyTrunc));
	kt->col = col;
	kt->unit = unit;
	kt->zone = zone;
	kt->zonename = zonename;
	kt->local = local;
	kt->todate = todate;
	kt->bin = bin;
	kt->origin = origin;
	kt->field = field;
	if (zone == KEYTRUNC_NONE)
	{
		kt->resolved = true;
		kt->fixed = true;
		kt->offset = 0;
		kt->memo = KEYTRUNC_CALENDAR(kt);
	}
	return kt;
}

/*
 * The zone named, or NULL when it is no zone (the function reports that
 * itself, for the first event it truncates).
 */
static pg_tz *
keytrunc_lookup_zone(const char *tzname, bool *dynamic)
{
	MemoryContext cxt = CurrentMemoryContext;
	pg_tz	   *volatile tz = NULL;

	PG_TRY();
	{
		tz = compat_lookup_zone(tzname, dynamic);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		tz = NULL;
	}
	PG_END_TRY();
	return tz;
}

/*
 * timezone_abbreviations' value, read where the setting keeps it (found
 * once): a lookup by name costs a search of all settings, and partitions'
 * rows come here one at a time.
 */
static const char *
keytrunc_abbreviations(void)
{
	static char **variable = NULL;

	if (variable == NULL)
		variable = compat_guc_string_variable("timezone_abbreviations");
	return variable && *variable ? *variable : "";
}

/*
 * Resolves kt's zone for the current TimeZone and timezone_abbreviations,
 * unless it was resolved under the same ones: whether it has a single UTC
 * offset at all times (and no leap seconds), and which.
 */
void
keytrunc_prepare(KeyTrunc *kt)
{
	const char *abbrevs = "";
	pg_tz	   *tz;
	long		gmtoff;
	bool		dynamic = false;

	if (kt->zone == KEYTRUNC_NONE)
		return;
	if (kt->zone == KEYTRUNC_NAMED)
		abbrevs = keytrunc_abbreviations();
	if (kt->resolved && kt->under_tz == session_timezone &&
		(kt->zone == KEYTRUNC_SESSION || strcmp(kt->under_abbrevs, abbrevs) == 0))
		return;

	kt->resolved = false;
	kt->fixed = false;
	kt->tz = NULL;
	kt->span_from = kt->span_to = 0;
	kt->memo = false;
	kt->memo_valid = false;
	if (kt->zone == KEYTRUNC_SESSION)
		tz = session_timezone;
	else
		tz = keytrunc_lookup_zone(kt->zonename, &dynamic);
	/*
	 * a local time in a zone named by a dynamic abbreviation takes the
	 * abbreviation's offset at each time (AT TIME ZONE), not the zone's
	 */
	if (tz != NULL && pg_tz_acceptable(tz) && !(dynamic && kt->local))
	{
		if (pg_get_timezone_offset(tz, &gmtoff) &&
			gmtoff > -SECS_PER_DAY && gmtoff < SECS_PER_DAY)
		{
			kt->fixed = true;
			kt->offset = (int64) gmtoff * USECS_PER_SEC;
			kt->memo = KEYTRUNC_CALENDAR(kt);
		}
		else
		{
			/*
			 * The local date and time of ts take the offset at ts itself.
			 * A truncation to an hour or less and a local time are
			 * computed; a day's and the calendar's take the offset at the
			 * local midnight they give, which the function looks up: its
			 * result is kept per bucket of the local date.
			 */
			kt->tz = tz;
			kt->memo = KEYTRUNC_CALENDAR(kt) ||
				(!kt->local && kt->unit == USECS_PER_DAY && !kt->todate);
		}
	}
	if (kt->zone == KEYTRUNC_NAMED)
	{
		MemoryContext cxt = GetMemoryChunkContext(kt);

		if (kt->under_abbrevs)
			pfree(kt->under_abbrevs);
		kt->under_abbrevs = MemoryContextStrdup(cxt, abbrevs);
	}
	kt->under_tz = session_timezone;
	kt->resolved = true;
}

/* keytrunc_prepare for each of n keys that is a truncation (kts[i] not NULL) */
void
keytrunc_prepare_keys(KeyTrunc **kts, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (kts[i] != NULL)
			keytrunc_prepare(kts[i]);
}

/*
 * The UTC offset of kt->tz at ts, as the functions take it (the local time
 * of ts's second: timestamp2tm), noted with the stretch of time that has it
 * up to the zone's next transition (kt->span_*). False where that is not
 * plain: ts's second is itself a transition, the two lookups disagree, the
 * offset is a day or more, or the zone library fails.
 */
bool
keytrunc_offset_at(KeyTrunc *kt, Timestamp ts)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	int64		secs = ts / USECS_PER_SEC;
	pg_time_t	t;
	struct pg_tm *tm;
	long		before_off;
	long		after_off;
	int			before_dst;
	int			after_dst;
	pg_time_t	boundary;
	int			r;

	if (ts % USECS_PER_SEC < 0)
		secs--;
	t = (pg_time_t) (secs + shift);
	tm = pg_localtime(&t, kt->tz);
	if (tm == NULL || tm->tm_gmtoff <= -SECS_PER_DAY || tm->tm_gmtoff >= SECS_PER_DAY)
		return false;
	r = pg_next_dst_boundary(&t, &before_off, &before_dst, &boundary, &after_off, &after_dst, kt->tz);
	if (r < 0 || before_off != tm->tm_gmtoff || (r == 1 && boundary <= t))
		return false;
	kt->span_from = secs * USECS_PER_SEC;
	if (r == 0 || boundary - shift >= KEYTRUNC_HIGH / USECS_PER_SEC)
		kt->span_to = KEYTRUNC_HIGH;
	else
		kt->span_to = (int64) (boundary - shift) * USECS_PER_SEC;
	kt->span_off = (int64) tm->tm_gmtoff * USECS_PER_SEC;
	return true;
}
