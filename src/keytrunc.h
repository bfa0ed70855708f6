/*-------------------------------------------------------------------------
 *
 * keytrunc.h
 *	  Grouping keys that bucket the event time (date_trunc, AT TIME ZONE,
 *	  ::date, date_bin of a column), computed by arithmetic where that gives
 *	  exactly what the function gives (see keytrunc.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_KEYTRUNC_H
#define LAMBDA_KEYTRUNC_H

#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "nodes/primnodes.h"
#include "pgtime.h"
#include "utils/date.h"
#include "utils/datetime.h"

/* Which zone a truncation is made in */
typedef enum KeyTruncZone
{
	KEYTRUNC_NONE,				/* date_trunc(unit, timestamp): no zone */
	KEYTRUNC_SESSION,			/* date_trunc(unit, timestamptz): TimeZone */
	KEYTRUNC_NAMED				/* date_trunc(unit, timestamptz, 'zone') */
} KeyTruncZone;

typedef struct KeyTrunc
{
	AttrNumber	col;			/* the event table column truncated */
	int64		unit;			/* the unit, in microseconds */
	KeyTruncZone zone;
	char	   *zonename;		/* KEYTRUNC_NAMED: the zone as written */
	bool		local;			/* of the column's local time in that zone
								 * (ts AT TIME ZONE 'zone'): a timestamp */
	bool		todate;			/* the local time's date (ts::date) */
	bool		bin;			/* date_bin(unit, column, origin) */
	int64		origin;			/* its origin */
	/* the zone as resolved under the settings noted (keytrunc_prepare) */
	bool		resolved;
	pg_tz	   *under_tz;		/* session_timezone then */
	char	   *under_abbrevs;	/* timezone_abbreviations then (NAMED) */
	bool		fixed;			/* one UTC offset at every time: arithmetic */
	int64		offset;			/* that offset, microseconds east of UTC */
	/*
	 * A zone whose offset changes (daylight saving time): the offset at ts,
	 * which gives its local time and date, looked up once for the stretch
	 * of time around ts that has it (keytrunc_offset_at)
	 */
	pg_tz	   *tz;				/* the zone, when it is such (else NULL) */
	Timestamp	span_from;		/* [span_from, span_to) has offset span_off */
	Timestamp	span_to;
	int64		span_off;

	/*
	 * Units of the calendar (a week and up; a day in a zone whose offset
	 * changes): the result depends only on the local date's bucket, so the
	 * key expression's result for the last bucket is kept
	 * (keytrunc_remember)
	 */
	int			field;			/* the unit (DTK_DAY, DTK_WEEK, ...) */
	bool		memo;			/* results kept per bucket */
	bool		memo_valid;
	int64		memo_key;		/* the local date's bucket (keytrunc_bucket) */
	Datum		memo_result;	/* and the key's value for it */
} KeyTrunc;

/*
 * Timestamps the arithmetic takes: three days inside the range on each
 * side, so that neither the local time (a fixed offset is under a day) nor
 * the result can leave it. Others are left to the function (and its
 * errors).
 */
#define KEYTRUNC_LOW	(MIN_TIMESTAMP + 3 * USECS_PER_DAY)
#define KEYTRUNC_HIGH	(END_TIMESTAMP - 3 * USECS_PER_DAY)

/* A unit of the calendar: a week or longer (whose unit field is a day) */
#define KEYTRUNC_CALENDAR(kt)	((kt)->unit == USECS_PER_DAY && (kt)->field != DTK_DAY)

extern KeyTrunc *keytrunc_match(Expr *expr);
extern void keytrunc_prepare(KeyTrunc *kt);
extern void keytrunc_prepare_keys(KeyTrunc **kts, int n);
extern bool keytrunc_offset_at(KeyTrunc *kt, Timestamp ts);

/*
 * Which bucket of its unit a local date (days since 2000-01-01) falls in:
 * dates of one bucket truncate alike (the day itself; the ISO week, from
 * Monday; the month; the quarter; the year, for a year and longer units).
 */
static inline int64
keytrunc_bucket(int field, int64 day)
{
	int			y;
	int			m;
	int			d;

	if (field == DTK_DAY)
		return day;
	if (field == DTK_WEEK)
	{
		/* 2000-01-03, day 2, was a Monday */
		int64		w = day - 2;

		return w >= 0 ? w / 7 : -((-w + 6) / 7);
	}
	j2date((int) (day + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	if (field == DTK_MONTH)
		return (int64) y * 12 + m;
	if (field == DTK_QUARTER)
		return (int64) y * 4 + (m - 1) / 3;
	return y;
}

/*
 * The UTC offset at ts that the functions take, into *offset, when kt's
 * zone has one at all times or it is known for the stretch of time around
 * ts (kt->tz), and ts lies well inside the range; false otherwise.
 * keytrunc_prepare must have resolved the zone for the current settings.
 */
static inline bool
keytrunc_offset(KeyTrunc *kt, Timestamp ts, int64 *offset)
{
	if (ts < KEYTRUNC_LOW || ts >= KEYTRUNC_HIGH)
		return false;
	if (kt->fixed)
		*offset = kt->offset;
	else if (kt->tz != NULL &&
			 ((ts >= kt->span_from && ts < kt->span_to) || keytrunc_offset_at(kt, ts)))
		*offset = kt->span_off;
	else
		return false;
	return true;
}

/* a / b rounded down (b > 0) */
static inline int64
keytrunc_floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	return a % b < 0 ? q - 1 : q;
}

/* The local date of a local time (days since 2000-01-01) */
#define keytrunc_day(local)	keytrunc_floor_div((local), USECS_PER_DAY)

/*
 * The key of ts into *result where kt computes it; false otherwise, the
 * key expression to be evaluated instead (and, for a unit of the calendar,
 * its value then noted by keytrunc_remember). In local time every unit
 * computed (a day or less) divides a day and starts at the local epoch, so
 * the truncation is a floor to a multiple of the unit; it is that local
 * time (kt->local), or the instant it is, or the day of that local time
 * (kt->todate). A unit of the calendar takes the value kept for the local
 * date's bucket (kt->memo). date_bin is a floor to a multiple of the
 * stride after the origin, in no zone.
 */
static inline bool
keytrunc_value(KeyTrunc *kt, Timestamp ts, Datum *result)
{
	int64		offset;
	int64		local;
	int64		q;

	if (!keytrunc_offset(kt, ts, &offset))
		return false;
	if (kt->bin)
	{
		int64		diff;

		/*
		 * date_bin at or after its origin: every major rounds the same way
		 * there (15 rounds times before it differently from 16 on)
		 */
		if (ts < kt->origin || pg_sub_s64_overflow(ts, kt->origin, &diff))
			return false;
		*result = Int64GetDatum(kt->origin + (diff - diff % kt->unit));
		return true;
	}
	local = ts + offset;
	if (kt->memo)
	{
		if (!kt->memo_valid || kt->memo_key != keytrunc_bucket(kt->field, keytrunc_day(local)))
			return false;
		*result = kt->memo_result;
		return true;
	}
	q = keytrunc_floor_div(local, kt->unit);
	if (kt->todate)
	{
		/* days since 2000-01-01 (unit is a day) */
		*result = DateADTGetDatum((DateADT) q);
		return true;
	}
	*result = Int64GetDatum(kt->local ? q * kt->unit : q * kt->unit - offset);
	return true;
}

/*
 * Notes value, the key expression's for ts, as the value of ts's local
 * date's bucket (kt->memo): a truncation to a day or a unit of the
 * calendar depends on the local date alone (the fields timestamp2tm gives,
 * truncated, and the offset at the local time they make), and the dates of
 * one bucket truncate to the same fields.
 */
static inline void
keytrunc_remember(KeyTrunc *kt, Timestamp ts, Datum value)
{
	int64		offset;

	if (!kt->memo || !keytrunc_offset(kt, ts, &offset))
		return;
	kt->memo_key = keytrunc_bucket(kt->field, keytrunc_day(ts + offset));
	kt->memo_result = value;
	kt->memo_valid = true;
}

#endif							/* LAMBDA_KEYTRUNC_H */
