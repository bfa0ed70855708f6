/*-------------------------------------------------------------------------
 *
 * format.c
 *	  Kafka payload formats: splitting one message into the text of one row.
 *
 * Every Kafka message carries exactly one row. A FormatParser, made once per
 * batch for the target table's tuple descriptor, turns a payload into a
 * FormatRow: for each column, "absent" (the column default applies), NULL, or
 * a NUL-terminated string that ingest.c hands to the column type's input
 * function. Type conversion is deliberately not done here: input functions
 * can only fail by ereport() in PostgreSQL 15, and ingest.c decides how to
 * contain that. Everything this file detects — payloads that are not valid in
 * the database encoding, contain a NUL byte, are not well-formed JSON / CSV /
 * text, have too many fields — is reported by returning an error string, never
 * by throwing, because malformed messages are common and must not cost a
 * subtransaction.
 *
 * Formats:
 *	json  The payload is one JSON object. A top-level key names a column:
 *		  first by exact name; failing that, by a case-insensitive match when
 *		  exactly one column matches that way (an exact key always wins over a
 *		  case-insensitive one, whatever their order). Unknown keys, and keys
 *		  naming dropped or stored generated columns, are ignored. When a key
 *		  appears twice, the last one wins (as in jsonb). null is SQL NULL.
 *		  Strings are unescaped, numbers and true/false pass as written. Into
 *		  json and jsonb columns every value goes as its JSON text, so a JSON
 *		  string stays a JSON string ("abc" is stored as "abc", quotes
 *		  included). Nested objects and arrays go into json, jsonb and
 *		  string-category columns (text, varchar, char, name, ...) as their JSON
 *		  text; into any other column they make the message bad. \uXXXX
 *		  escapes above U+007F need a UTF8 database (as before PostgreSQL 13),
 *		  and \u0000 cannot go into text.
 *	csv   One RFC 4180 record with COPY's CSV defaults: comma separator,
 *		  double-quote quoting with "" inside quotes, an unquoted empty field
 *		  is NULL and a quoted one the empty string. As in COPY, a quote may
 *		  open a quoted section anywhere in a field.
 *	text  One line of COPY's text format: tab separator, \N is NULL,
 *		  backslash escapes \b \f \n \r \t \v, \ooo (octal), \xHH, and \c for
 *		  any other c.
 *	csv and text fields fill the table's columns in order (skipping dropped
 *	and stored generated columns, as COPY does); fewer fields leave the rest
 *	absent, more fields make the message bad. One trailing \n or \r\n is
 *	ignored; any other unquoted line break makes the message bad. A payload
 *	that is empty after that is bad too.
 *
 * A source may have a column list, as COPY does: then csv and text fields
 * fill the listed columns in the list's order, and json keys name only
 * listed columns (a key naming any other column is ignored like an unknown
 * key). Columns outside the list are absent from every message.
 *
 * The JSON parser is hand-written for speed: it is the ingest hot path and
 * must cost about what COPY's own field splitting costs. It validates the
 * whole payload (RFC 8259 grammar) without recursion and without allocating
 * per key or per value: every value is written into one buffer owned by the
 * parser and sized once per message, and the column a key names is cached by
 * the key's position in the object, since producers nearly always emit keys
 * in the same order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "format.h"

/* How a column takes JSON values. */
#define FMT_KIND_SCALAR	0		/* scalars only, through the input function */
#define FMT_KIND_STRING	1		/* scalars, and nested values as JSON text */
#define FMT_KIND_JSON	2		/* every value as its JSON text */

/* JSON keys whose column is remembered, by position in the object. */
#define FMT_KEY_CACHE	64

typedef struct FmtKeyCache
{
	char	   *key;			/* NULL: nothing cached yet */
	int			len;
	int			cap;
	int			att;			/* attnum - 1, or -1 for an ignored key */
	bool		ci;				/* matched case-insensitively */
} FmtKeyCache;

struct FormatParser
{
	LambdaFormat format;
	MemoryContext cxt;			/* where the parser and its buffers live */
	int			encoding;		/* database encoding */
	int			natts;
	int			ntargets;		/* columns a payload may fill */
	int		   *targets;		/* their attnum - 1, in field order */
	bool		listed;			/* targets come from a column list */
	char	  **names;			/* per attribute; NULL when not a target */
	int		   *namelens;
	uint8	   *kinds;			/* FMT_KIND_* per attribute */
	Oid		   *typids;			/* column types, for messages */
	bool	   *exact;			/* json: value set by an exact key match */
	FormatRow	row;			/* the result of the last parse */
	char	   *buf;			/* values of the current message */
	size_t		bufsize;
	char	   *keybuf;			/* json: the current key, unescaped */
	size_t		keybufsize;
	char	   *stack;			/* json: open containers while skipping */
	int			stacksize;
	FmtKeyCache cache[FMT_KEY_CACHE];
};

/* Cursor over one JSON payload. */
typedef struct FmtJson
{
	FormatParser *parser;
	const char *start;
	const char *pos;
	const char *end;
	char	   *err;			/* set when the payload is invalid */
} FmtJson;

#define FMT_JSON_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define FMT_IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/*
 * Parses a format name as given to lambda.create_kafka_source(); false when
 * it names no format.
 */
bool
format_parse_name(const char *name, LambdaFormat *fmt)
{
	if (name == NULL)
		return false;
	if (pg_strcasecmp(name, "json") == 0)
		*fmt = LAMBDA_FORMAT_JSON;
	else if (pg_strcasecmp(name, "csv") == 0)
		*fmt = LAMBDA_FORMAT_CSV;
	else if (pg_strcasecmp(name, "text") == 0)
		*fmt = LAMBDA_FORMAT_TEXT;
	else
		return false;
	return true;
}

/*
 * The canonical name of a format, as stored in the catalog.
 */
const char *
format_name(LambdaFormat fmt)
{
	switch (fmt)
	{
		case LAMBDA_FORMAT_JSON:
			return "json";
		case LAMBDA_FORMAT_CSV:
			return "csv";
		case LAMBDA_FORMAT_TEXT:
			return "text";
	}
	elog(ERROR, "unrecognized payload format %d", (int) fmt);
	return NULL;				/* keep compiler quiet */
}

/*
 * Decides how a column of type typid takes JSON values: json/jsonb take JSON
 * text, string types also take nested values as text, the rest scalars only.
 * Domains are judged by their base type.
 */
static uint8
fmt_column_kind(Oid typid)
{
	Oid			base = getBaseType(typid);
	char		category;
	bool		preferred;

	if (base == JSONOID || base == JSONBOID)
		return FMT_KIND_JSON;
	get_type_category_preferred(base, &category, &preferred);
	if (category == TYPCATEGORY_STRING)
		return FMT_KIND_STRING;
	return FMT_KIND_SCALAR;
}

/*
 * Makes a parser for rows of tupdesc in the current memory context. The
 * columns a payload may fill are those COPY fills by default (not dropped,
 * not stored generated), or with ncolumns > 0 the columns[] given (attribute
 * numbers, in field order; the caller has checked that each is a fillable
 * column and none repeats).
 */
FormatParser *
format_parser_create(LambdaFormat fmt, TupleDesc tupdesc, int ncolumns,
					 const AttrNumber *columns)
{
	FormatParser *p = palloc0(sizeof(FormatParser));
	int			natts = tupdesc->natts;
	int			i;

	p->format = fmt;
	p->cxt = CurrentMemoryContext;
	p->encoding = GetDatabaseEncoding();
	p->natts = natts;
	p->targets = palloc(sizeof(int) * (natts + 1));
	p->names = palloc0(sizeof(char *) * (natts + 1));
	p->namelens = palloc0(sizeof(int) * (natts + 1));
	p->kinds = palloc0(sizeof(uint8) * (natts + 1));
	p->typids = palloc0(sizeof(Oid) * (natts + 1));
	p->exact = palloc0(sizeof(bool) * (natts + 1));
	p->row.natts = natts;
	p->row.field = palloc0(sizeof(uint8) * (natts + 1));
	p->row.value = palloc0(sizeof(char *) * (natts + 1));

	p->listed = (ncolumns > 0);
	for (i = 0; i < (p->listed ? ncolumns : natts); i++)
	{
		int			a = p->listed ? columns[i] - 1 : i;
		Form_pg_attribute att;

		Assert(a >= 0 && a < natts);
		att = TupleDescAttr(tupdesc, a);
		if (att->attisdropped || att->attgenerated)
		{
			Assert(!p->listed);
			continue;
		}
		p->targets[p->ntargets++] = a;
		p->names[a] = pstrdup(NameStr(att->attname));
		p->namelens[a] = strlen(p->names[a]);
		p->kinds[a] = fmt_column_kind(att->atttypid);
		p->typids[a] = att->atttypid;
	}

	p->bufsize = 1024;
	p->buf = palloc(p->bufsize);
	p->keybufsize = 256;
	p->keybuf = palloc(p->keybufsize);
	return p;
}

/*
 * Makes the value buffer big enough for any row a payload of len bytes can
 * produce, so that parsing never reallocates and may keep plain pointers:
 * values are never longer than their source text, plus one NUL each.
 */
static void
fmt_reserve(FormatParser *p, size_t len)
{
	size_t		need = 2 * len + 16;

	if (p->bufsize < need)
	{
		pfree(p->buf);
		p->buf = MemoryContextAlloc(p->cxt, need);
		p->bufsize = need;
	}
	if (p->keybufsize < len + 16)
	{
		pfree(p->keybuf);
		p->keybuf = MemoryContextAlloc(p->cxt, len + 16);
		p->keybufsize = len + 16;
	}
}

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------
 */

/*
 * Records a JSON syntax error at the cursor and returns false, for the
 * callers' convenience.
 */
static bool
fmt_json_fail(FmtJson *j, const char *what)
{
	if (j->err == NULL)
	{
		if (j->pos >= j->end)
			j->err = psprintf("invalid JSON: %s at end of input", what);
		else
			j->err = psprintf("invalid JSON: %s at offset %d",
							  what, (int) (j->pos - j->start));
	}
	return false;
}

/* Skips JSON whitespace. */
static inline void
fmt_json_ws(FmtJson *j)
{
	while (j->pos < j->end && FMT_JSON_WS(*j->pos))
		j->pos++;
}

/* Value of four hex digits at s, or -1. */
static int
fmt_hex4(const char *s)
{
	int			v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		char		c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Scans the JSON string at the cursor (which is on its opening quote) and
 * leaves the cursor after it. With out != NULL the unescaped text is written
 * at *out, which is advanced; code points are converted to the database
 * encoding. Without out the string is only validated (its JSON text is what
 * the caller keeps), so escapes are checked for syntax only.
 */
static bool
fmt_json_string(FmtJson *j, char **out)
{
	const char *s = j->pos + 1;
	const char *end = j->end;
	char	   *o = out ? *out : NULL;

	for (;;)
	{
		const char *run = s;
		char		c;

		while (s < end && *s != '"' && *s != '\\' && (unsigned char) *s >= 0x20)
			s++;
		if (o != NULL && s > run)
		{
			memcpy(o, run, s - run);
			o += s - run;
		}
		if (s >= end)
		{
			j->pos = s;
			return fmt_json_fail(j, "unterminated string");
		}
		if (*s == '"')
		{
			s++;
			break;
		}
		if (*s != '\\')
		{
			j->pos = s;
			return fmt_json_fail(j, "control character in string");
		}
		s++;
		if (s >= end)
		{
			j->pos = s;
			return fmt_json_fail(j, "unterminated string");
		}
		switch (*s)
		{
			case '"':
			case '\\':
			case '/':
				c = *s;
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				{
					int			cp = (end - s >= 5) ? fmt_hex4(s + 1) : -1;

					if (cp < 0)
					{
						j->pos = s - 1;
						return fmt_json_fail(j, "invalid \\u escape");
					}
					s += 5;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						int			lo = (end - s >= 6 && s[0] == '\\' && s[1] == 'u') ?
							fmt_hex4(s + 2) : -1;

						if (lo < 0xDC00 || lo > 0xDFFF)
						{
							j->pos = s;
							return fmt_json_fail(j, "unpaired Unicode high surrogate");
						}
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						s += 6;
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
					{
						j->pos = s;
						return fmt_json_fail(j, "unpaired Unicode low surrogate");
					}
					if (o == NULL)
						continue;
					if (cp == 0)
					{
						j->pos = s;
						return fmt_json_fail(j, "\\u0000 cannot be converted to text");
					}
					if (cp < 0x80)
						*o++ = (char) cp;
					else if (j->parser->encoding != PG_UTF8)
					{
						j->pos = s;
						return fmt_json_fail(j, "Unicode escape values above 007F need a UTF8 database");
					}
					else if (cp < 0x800)
					{
						*o++ = (char) (0xC0 | (cp >> 6));
						*o++ = (char) (0x80 | (cp & 0x3F));
					}
					else if (cp < 0x10000)
					{
						*o++ = (char) (0xE0 | (cp >> 12));
						*o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
						*o++ = (char) (0x80 | (cp & 0x3F));
					}
					else
					{
						*o++ = (char) (0xF0 | (cp >> 18));
						*o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
						*o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
						*o++ = (char) (0x80 | (cp & 0x3F));
					}
					continue;
				}
			default:
				j->pos = s - 1;
				return fmt_json_fail(j, "invalid escape sequence");
		}
		if (o != NULL)
			*o++ = c;
		s++;
	}
	j->pos = s;
	if (out != NULL)
		*out = o;
	return true;
}

/*
 * Scans a JSON number at the cursor (RFC 8259 grammar) and leaves the cursor
 * after it.
 */
static bool
fmt_json_number(FmtJson *j)
{
	const char *s = j->pos;
	const char *end = j->end;

	if (s < end && *s == '-')
		s++;
	if (s < end && *s == '0')
		s++;
	else if (s < end && *s >= '1' && *s <= '9')
	{
		while (s < end && FMT_IS_DIGIT(*s))
			s++;
	}
	else
	{
		j->pos = s;
		return fmt_json_fail(j, "invalid number");
	}
	if (s < end && *s == '.')
	{
		s++;
		if (s >= end || !FMT_IS_DIGIT(*s))
		{
			j->pos = s;
			return fmt_json_fail(j, "invalid number");
		}
		while (s < end && FMT_IS_DIGIT(*s))
			s++;
	}
	if (s < end && (*s == 'e' || *s == 'E'))
	{
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		if (s >= end || !FMT_IS_DIGIT(*s))
		{
			j->pos = s;
			return fmt_json_fail(j, "invalid number");
		}
		while (s < end && FMT_IS_DIGIT(*s))
			s++;
	}
	j->pos = s;
	return true;
}

/* Scans the literal word (true, false, null) at the cursor. */
static bool
fmt_json_literal(FmtJson *j, const char *word, int len)
{
	if (j->end - j->pos < len || memcmp(j->pos, word, len) != 0)
		return fmt_json_fail(j, "unexpected token");
	j->pos += len;
	return true;
}

/*
 * Scans one scalar (string, number, true, false, null) at the cursor without
 * keeping it.
 */
static bool
fmt_json_scalar(FmtJson *j)
{
	switch (*j->pos)
	{
		case '"':
			return fmt_json_string(j, NULL);
		case 't':
			return fmt_json_literal(j, "true", 4);
		case 'f':
			return fmt_json_literal(j, "false", 5);
		case 'n':
			return fmt_json_literal(j, "null", 4);
		default:
			if (*j->pos == '-' || FMT_IS_DIGIT(*j->pos))
				return fmt_json_number(j);
			return fmt_json_fail(j, "unexpected character");
	}
}

/*
 * Scans one JSON object key and its colon at the cursor, up to the value.
 */
static bool
fmt_json_key(FmtJson *j)
{
	fmt_json_ws(j);
	if (j->pos >= j->end || *j->pos != '"')
		return fmt_json_fail(j, "expected a string key");
	if (!fmt_json_string(j, NULL))
		return false;
	fmt_json_ws(j);
	if (j->pos >= j->end || *j->pos != ':')
		return fmt_json_fail(j, "expected \":\"");
	j->pos++;
	return true;
}

/*
 * Validates one JSON value of any kind at the cursor and leaves the cursor
 * after it. Iterative, with an explicit stack of open containers, so that
 * deeply nested input cannot exhaust the C stack.
 */
static bool
fmt_json_skip(FmtJson *j)
{
	FormatParser *p = j->parser;
	int			depth = 0;

	for (;;)
	{
		/* a value is expected */
		fmt_json_ws(j);
		if (j->pos >= j->end)
			return fmt_json_fail(j, "expected a value");
		if (*j->pos == '{' || *j->pos == '[')
		{
			char		open = *j->pos;

			if (depth >= p->stacksize)
			{
				int			newsize = Max(64, p->stacksize * 2);

				if (p->stack == NULL)
					p->stack = MemoryContextAlloc(p->cxt, newsize);
				else
					p->stack = repalloc(p->stack, newsize);
				p->stacksize = newsize;
			}
			p->stack[depth++] = open;
			j->pos++;
			fmt_json_ws(j);
			if (j->pos < j->end && *j->pos == (open == '{' ? '}' : ']'))
			{
				j->pos++;
				depth--;
			}
			else
			{
				if (open == '{' && !fmt_json_key(j))
					return false;
				continue;
			}
		}
		else if (!fmt_json_scalar(j))
			return false;

		/* a value ended: close containers, or go on to the next element */
		for (;;)
		{
			char		top;

			if (depth == 0)
				return true;
			top = p->stack[depth - 1];
			fmt_json_ws(j);
			if (j->pos >= j->end)
				return fmt_json_fail(j, "unterminated object or array");
			if (*j->pos == ',')
			{
				j->pos++;
				if (top == '{' && !fmt_json_key(j))
					return false;
				break;
			}
			if (*j->pos == (top == '{' ? '}' : ']'))
			{
				j->pos++;
				depth--;
				continue;
			}
			return fmt_json_fail(j, top == '{' ? "expected \",\" or \"}\"" :
								 "expected \",\" or \"]\"");
		}
	}
}

/*
 * Finds the column a JSON key names: exact name first, else the single
 * column whose name matches case-insensitively; -1 when none (or several)
 * does. The answer is cached by the key's position in the object.
 */
static int
fmt_json_lookup(FormatParser *p, int keyno, const char *key, int keylen, bool *ci)
{
	FmtKeyCache *c = keyno < FMT_KEY_CACHE ? &p->cache[keyno] : NULL;
	int			att = -1;
	int			i;

	if (c != NULL && c->key != NULL && c->len == keylen &&
		memcmp(c->key, key, keylen) == 0)
	{
		*ci = c->ci;
		return c->att;
	}

	*ci = false;
	for (i = 0; i < p->ntargets; i++)
	{
		int			a = p->targets[i];

		if (p->namelens[a] == keylen && memcmp(p->names[a], key, keylen) == 0)
		{
			att = a;
			break;
		}
	}
	if (att < 0)
	{
		int			matches = 0;

		for (i = 0; i < p->ntargets; i++)
		{
			int			a = p->targets[i];

			if (p->namelens[a] == keylen && pg_strncasecmp(p->names[a], key, keylen) == 0)
			{
				att = a;
				matches++;
			}
		}
		if (matches != 1)
			att = -1;
		else
			*ci = true;
	}

	if (c != NULL)
	{
		if (c->cap < keylen + 1)
		{
			int			cap = Max(32, keylen + 1);

			if (c->key != NULL)
				pfree(c->key);
			c->key = MemoryContextAlloc(p->cxt, cap);
			c->cap = cap;
		}
		memcpy(c->key, key, keylen);
		c->len = keylen;
		c->att = att;
		c->ci = *ci;
	}
	return att;
}

/*
 * Describes the kind of JSON value starting with c, for error messages.
 */
static const char *
fmt_json_kind_name(char c)
{
	switch (c)
	{
		case '[':
			return "an array";
		case '"':
			return "a string";
		case 't':
		case 'f':
			return "a boolean";
		case 'n':
			return "null";
		default:
			return "a number";
	}
}

/*
 * Parses a JSON object payload into p->row.
 */
static char *
fmt_parse_json(FormatParser *p, const char *payload, size_t len)
{
	FmtJson		j;
	FormatRow  *row = &p->row;
	char	   *o = p->buf;
	int			keyno = 0;

	j.parser = p;
	j.start = j.pos = payload;
	j.end = payload + len;
	j.err = NULL;

	memset(p->exact, 0, sizeof(bool) * p->natts);

	fmt_json_ws(&j);
	if (j.pos >= j.end)
		return pstrdup("empty payload");
	if (*j.pos != '{')
	{
		char		first = *j.pos;

		if (!fmt_json_skip(&j))
			return j.err;
		fmt_json_ws(&j);
		if (j.pos < j.end)
		{
			fmt_json_fail(&j, "unexpected data after the value");
			return j.err;
		}
		return psprintf("JSON payload is %s, not an object", fmt_json_kind_name(first));
	}
	j.pos++;
	fmt_json_ws(&j);
	if (j.pos < j.end && *j.pos == '}')
		j.pos++;
	else
	{
		for (;;)
		{
			char	   *key = p->keybuf;
			int			att;
			bool		ci;
			const char *valstart;
			char	   *val;
			uint8		state;

			/* the key */
			if (j.pos >= j.end || *j.pos != '"')
			{
				fmt_json_fail(&j, "expected a string key");
				return j.err;
			}
			if (!fmt_json_string(&j, &key))
				return j.err;
			att = fmt_json_lookup(p, keyno++, p->keybuf, (int) (key - p->keybuf), &ci);
			fmt_json_ws(&j);
			if (j.pos >= j.end || *j.pos != ':')
			{
				fmt_json_fail(&j, "expected \":\"");
				return j.err;
			}
			j.pos++;
			fmt_json_ws(&j);
			if (j.pos >= j.end)
			{
				fmt_json_fail(&j, "expected a value");
				return j.err;
			}

			/* the value */
			valstart = j.pos;
			val = o;
			state = FORMAT_FIELD_VALUE;
			if (att < 0)
			{
				if (!fmt_json_skip(&j))
					return j.err;
			}
			else if (*j.pos == '"' && p->kinds[att] != FMT_KIND_JSON)
			{
				if (!fmt_json_string(&j, &o))
					return j.err;
				*o++ = '\0';
			}
			else
			{
				if (*j.pos == 'n')
				{
					if (!fmt_json_literal(&j, "null", 4))
						return j.err;
					state = FORMAT_FIELD_NULL;
				}
				else if (*j.pos == '{' || *j.pos == '[')
				{
					if (!fmt_json_skip(&j))
						return j.err;
					if (p->kinds[att] == FMT_KIND_SCALAR)
						return psprintf("JSON %s cannot be stored in column \"%s\" of type %s",
										*valstart == '{' ? "object" : "array",
										p->names[att], format_type_be(p->typids[att]));
				}
				else if (!fmt_json_scalar(&j))
					return j.err;
				if (state == FORMAT_FIELD_VALUE)
				{
					memcpy(o, valstart, j.pos - valstart);
					o += j.pos - valstart;
					*o++ = '\0';
				}
			}
			if (att >= 0 && !(ci && p->exact[att]))
			{
				row->field[att] = state;
				row->value[att] = val;
				p->exact[att] = !ci;
			}

			/* on to the next key, or the end */
			fmt_json_ws(&j);
			if (j.pos < j.end && *j.pos == ',')
			{
				j.pos++;
				fmt_json_ws(&j);
				continue;
			}
			if (j.pos < j.end && *j.pos == '}')
			{
				j.pos++;
				break;
			}
			fmt_json_fail(&j, "expected \",\" or \"}\"");
			return j.err;
		}
	}
	fmt_json_ws(&j);
	if (j.pos < j.end)
	{
		fmt_json_fail(&j, "unexpected data after the object");
		return j.err;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * CSV and text
 * ------------------------------------------------------------------------
 */

/*
 * Parses one CSV record into p->row (see the file header for the rules).
 */
static char *
fmt_parse_csv(FormatParser *p, const char *payload, size_t len)
{
	const char *s = payload;
	const char *end = payload + len;
	char	   *o = p->buf;
	int			nfield = 0;

	for (;;)
	{
		char	   *val = o;
		bool		quoted = false;
		bool		in_quote = false;
		int			att;

		if (nfield >= p->ntargets)
			return p->listed ?
				psprintf("CSV payload has more fields than the source's column list has columns (%d)",
						 p->ntargets) :
				psprintf("CSV payload has more fields than the table has columns (%d)",
						 p->ntargets);
		while (s < end)
		{
			char		c = *s;

			if (in_quote)
			{
				if (c == '"')
				{
					if (s + 1 < end && s[1] == '"')
					{
						*o++ = '"';
						s += 2;
					}
					else
					{
						in_quote = false;
						s++;
					}
					continue;
				}
			}
			else if (c == ',')
				break;
			else if (c == '"')
			{
				in_quote = quoted = true;
				s++;
				continue;
			}
			else if (c == '\n' || c == '\r')
				return psprintf("unquoted line break in CSV payload at offset %d",
								(int) (s - payload));
			*o++ = c;
			s++;
		}
		if (in_quote)
			return pstrdup("unterminated quoted field in CSV payload");

		att = p->targets[nfield++];
		if (!quoted && o == val)
			p->row.field[att] = FORMAT_FIELD_NULL;
		else
		{
			*o++ = '\0';
			p->row.field[att] = FORMAT_FIELD_VALUE;
			p->row.value[att] = val;
		}
		if (s >= end)
			break;
		s++;					/* the comma */
	}
	return NULL;
}

/* Value of hex digit c, or -1. */
static int
fmt_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parses one line of COPY text format into p->row (see the file header).
 */
static char *
fmt_parse_text(FormatParser *p, const char *payload, size_t len)
{
	const char *s = payload;
	const char *end = payload + len;
	char	   *o = p->buf;
	int			nfield = 0;

	for (;;)
	{
		const char *fstart = s;
		char	   *val = o;
		bool		bytes_escaped = false;
		int			att;

		if (nfield >= p->ntargets)
			return p->listed ?
				psprintf("text payload has more fields than the source's column list has columns (%d)",
						 p->ntargets) :
				psprintf("text payload has more fields than the table has columns (%d)",
						 p->ntargets);
		while (s < end && *s != '\t')
		{
			char		c = *s++;
			int			v;

			if (c == '\n' || c == '\r')
				return psprintf("literal line break in text payload at offset %d",
								(int) (s - 1 - payload));
			if (c != '\\')
			{
				*o++ = c;
				continue;
			}
			if (s >= end)
				return pstrdup("text payload ends in a lone backslash");
			c = *s++;
			switch (c)
			{
				case '0':
				case '1':
				case '2':
				case '3':
				case '4':
				case '5':
				case '6':
				case '7':
					v = c - '0';
					if (s < end && *s >= '0' && *s <= '7')
					{
						v = v * 8 + (*s++ - '0');
						if (s < end && *s >= '0' && *s <= '7')
							v = v * 8 + (*s++ - '0');
					}
					*o++ = (char) (v & 0xFF);
					bytes_escaped = true;
					break;
				case 'x':
					if (s < end && fmt_hexval(*s) >= 0)
					{
						v = fmt_hexval(*s++);
						if (s < end && fmt_hexval(*s) >= 0)
							v = v * 16 + fmt_hexval(*s++);
						*o++ = (char) v;
						bytes_escaped = true;
					}
					else
						*o++ = 'x';
					break;
				case 'b':
					*o++ = '\b';
					break;
				case 'f':
					*o++ = '\f';
					break;
				case 'n':
					*o++ = '\n';
					break;
				case 'r':
					*o++ = '\r';
					break;
				case 't':
					*o++ = '\t';
					break;
				case 'v':
					*o++ = '\v';
					break;
				default:
					*o++ = c;
					break;
			}
		}

		att = p->targets[nfield++];
		if (s - fstart == 2 && fstart[0] == '\\' && fstart[1] == 'N')
			p->row.field[att] = FORMAT_FIELD_NULL;
		else
		{
			/* octal and hex escapes can make bytes the encoding rejects */
			if (bytes_escaped &&
				pg_encoding_verifymbstr(p->encoding, val, (int) (o - val)) != (int) (o - val))
				return psprintf("escape in field %d of text payload makes an invalid byte sequence for encoding \"%s\"",
								nfield, pg_encoding_to_char(p->encoding));
			*o++ = '\0';
			p->row.field[att] = FORMAT_FIELD_VALUE;
			p->row.value[att] = val;
		}
		if (s >= end)
			break;
		s++;					/* the tab */
	}
	return NULL;
}

/*
 * Parses one message payload. Returns NULL and sets *row on success, or a
 * palloc'd description of what is wrong with the payload; never throws for
 * bad input. The row stays valid until the next call.
 */
char *
format_parse_message(FormatParser *p, const char *payload, size_t len,
					 const FormatRow **row)
{
	int			valid;
	char	   *err;

	*row = NULL;
	if (payload == NULL || len == 0)
		return pstrdup("empty payload");
	if (len > MaxAllocSize / 2 - 64)
		return psprintf("payload of %zu bytes is too large", len);

	valid = pg_encoding_verifymbstr(p->encoding, payload, (int) len);
	if (valid != (int) len)
	{
		if (payload[valid] == '\0')
			return psprintf("payload contains a NUL byte at offset %d", valid);
		return psprintf("invalid byte sequence for encoding \"%s\" at offset %d of the payload",
						pg_encoding_to_char(p->encoding), valid);
	}

	fmt_reserve(p, len);
	memset(p->row.field, FORMAT_FIELD_ABSENT, sizeof(uint8) * p->natts);

	if (p->format == LAMBDA_FORMAT_JSON)
		err = fmt_parse_json(p, payload, len);
	else
	{
		/* one trailing line end is not part of the record */
		if (payload[len - 1] == '\n')
		{
			len--;
			if (len > 0 && payload[len - 1] == '\r')
				len--;
		}
		if (len == 0)
			return pstrdup("empty payload");
		if (p->format == LAMBDA_FORMAT_CSV)
			err = fmt_parse_csv(p, payload, len);
		else
			err = fmt_parse_text(p, payload, len);
	}
	if (err == NULL)
		*row = &p->row;
	return err;
}
