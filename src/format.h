/*-------------------------------------------------------------------------
 *
 * format.h
 *	  Kafka payload formats: one message is one row (json, csv, text).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LAMBDA_FORMAT_H
#define LAMBDA_FORMAT_H

#include "postgres.h"

#include "access/tupdesc.h"

typedef enum LambdaFormat
{
	LAMBDA_FORMAT_JSON,
	LAMBDA_FORMAT_CSV,
	LAMBDA_FORMAT_TEXT
} LambdaFormat;

/* What a parsed message says about one column. */
typedef enum FormatField
{
	FORMAT_FIELD_ABSENT = 0,	/* not given: the column's default applies */
	FORMAT_FIELD_NULL,			/* explicitly NULL */
	FORMAT_FIELD_VALUE			/* text for the column type's input function */
} FormatField;

/*
 * The result of parsing one message, indexed by attnum - 1 of the tuple
 * descriptor the parser was made for. Dropped and stored generated columns
 * are always FORMAT_FIELD_ABSENT. Valid until the next parse.
 */
typedef struct FormatRow
{
	int			natts;
	uint8	   *field;			/* FormatField per attribute */
	char	  **value;			/* NUL-terminated text when FORMAT_FIELD_VALUE */
} FormatRow;

/* Parser state for one tuple descriptor; made once per batch. */
typedef struct FormatParser FormatParser;

extern bool format_parse_name(const char *name, LambdaFormat *fmt);
extern const char *format_name(LambdaFormat fmt);

extern FormatParser *format_parser_create(LambdaFormat fmt, TupleDesc tupdesc,
										  int ncolumns, const AttrNumber *columns);
extern char *format_parse_message(FormatParser *parser, const char *payload,
								  size_t len, const FormatRow **row);

#endif							/* LAMBDA_FORMAT_H */
