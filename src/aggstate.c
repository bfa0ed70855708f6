/*-------------------------------------------------------------------------
 *
 * aggstate.c
 *	  Aggregate states: PostgreSQL's aggregate machinery called outside an
 *	  Agg node, and the serialized form of one state.
 *
 * Partial states are PostgreSQL's own. An aggregate's transition, combine,
 * serial/deserial and final functions are looked up in pg_aggregate and
 * resolved for the call's input types as ExecInitAgg does (an AggMeta), then
 * called as nodeAgg calls them: a strict transition or combine function
 * skips NULL inputs and takes the first non-NULL one as the state, a
 * stand-in AggState lets AggCheckCallContext() find the memory context that
 * owns the states, and a new by-reference state is copied into it.
 * pg_lambda's own count_distinct (sketch.c) has a second transition
 * function, distinct_add_exact, for the batch layer, which keeps every value.
 *
 * A state's serialized form is the serial function's output for "internal"
 * states; otherwise the value's own bytes (whole varlena, header included),
 * or, for types whose bytes cannot be checked in place, their binary send
 * form behind IMAGE_SEND_TAG (image.c). The batch table holds that form,
 * one bytea per aggregate, but for an array of as many int8 or float8
 * elements as the aggregate's initial state (avg's {count, sum}, the float
 * accumulators): only its elements, behind IMAGE_ARRAY_TAG (17 bytes for
 * avg(int4) instead of 40); the whole array's bytes, which rows written
 * before hold, are read too. The speed layer keeps one group's states
 * together in a states image (stateimage.c), such arrays compact as well.
 *
 * Serialized states can come from anyone who calls lambda_catalog.merge or
 * combine_states, so each is checked (image.c's rules, or the aggregate's
 * deserialization function) before a function of the aggregate sees it.
 *
 * Dependencies. aggstate.c knows nothing of views: cview.c compiles a view's
 * aggregates with aggmeta_init, and stateimage.c, which knows a view's list
 * of aggregates, builds on the functions here.
 *
 * Locks: none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "nodes/execnodes.h"
#include "common/int.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "parser/parse_agg.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "aggstate.h"
#include "catalog.h"
#include "sketch.h"

/* ------------------------------------------------------------------------
 * Aggregate machinery
 * ------------------------------------------------------------------------
 */

/* Which transition functions aggmeta_advance_fast computes inline. */
static AggFast
aggmeta_fast_kind(Oid transfn, int nargs)
{
	switch (transfn)
	{
		case F_INT8INC:
			return nargs == 0 ? AGG_FAST_INT8INC : AGG_FAST_NONE;
		case F_INT8INC_ANY:
			return nargs == 1 ? AGG_FAST_INT8INC : AGG_FAST_NONE;
		case F_INT4_SUM:
			return AGG_FAST_INT4_SUM;
		case F_INT4SMALLER:
			return AGG_FAST_INT4_SMALLER;
		case F_INT4LARGER:
			return AGG_FAST_INT4_LARGER;
		case F_INT8SMALLER:
			return AGG_FAST_INT8_SMALLER;
		case F_INT8LARGER:
			return AGG_FAST_INT8_LARGER;
		case F_INT4_AVG_ACCUM:
			return AGG_FAST_INT4_AVG;
		default:
			return AGG_FAST_NONE;
	}
}

/*
 * Whether the combine function is the built-in one of the inline transition
 * (an aggregate of one's own could pair int4_sum with another combine).
 */
static bool
aggmeta_fast_combines(AggFast fast, Oid combinefn)
{
	switch (fast)
	{
		case AGG_FAST_INT8INC:
		case AGG_FAST_INT4_SUM:
			return combinefn == F_INT8PL;
		case AGG_FAST_INT4_SMALLER:
			return combinefn == F_INT4SMALLER;
		case AGG_FAST_INT4_LARGER:
			return combinefn == F_INT4LARGER;
		case AGG_FAST_INT8_SMALLER:
			return combinefn == F_INT8SMALLER;
		case AGG_FAST_INT8_LARGER:
			return combinefn == F_INT8LARGER;
		case AGG_FAST_INT4_AVG:
			return combinefn == F_INT4_AVG_COMBINE;
		case AGG_FAST_NONE:
			break;
	}
	return false;
}

/*
 * Resolves an aggregate call's support functions, as ExecInitAgg does.
 */
void
aggmeta_init(AggMeta *m, Aggref *aggref, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HeapTuple	tup;
	Form_pg_aggregate agg;
	Oid			inputTypes[FUNC_MAX_ARGS];
	int			nargs;
	Expr	   *expr;
	Expr	   *expr2;
	Datum		initdatum;
	bool		initnull;

	memset(m, 0, sizeof(AggMeta));
	m->aggfnoid = aggref->aggfnoid;
	m->collation = aggref->inputcollid;
	m->resulttype = aggref->aggtype;

	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for aggregate %u", aggref->aggfnoid);
	agg = (Form_pg_aggregate) GETSTRUCT(tup);

	nargs = get_aggregate_argtypes(aggref, inputTypes);
	m->ntransargs = nargs;
	m->transtype = resolve_aggregate_transtype(aggref->aggfnoid, agg->aggtranstype,
											   inputTypes, nargs);
	get_typlenbyval(m->transtype, &m->translen, &m->transbyval);
	m->internal = (m->transtype == INTERNALOID);

	build_aggregate_transfn_expr(inputTypes, nargs, 0, aggref->aggvariadic,
								 m->transtype, aggref->inputcollid,
								 agg->aggtransfn, InvalidOid, &expr, &expr2);
	fmgr_info_cxt(agg->aggtransfn, &m->transfn, cxt);
	fmgr_info_set_expr((Node *) expr, &m->transfn);
	m->transstrict = m->transfn.fn_strict;
	m->fast = aggmeta_fast_kind(m->transfn.fn_oid, nargs);
	if (m->fast != AGG_FAST_INT4_AVG && !m->transbyval)
		m->fast = AGG_FAST_NONE;	/* int8 by reference (32-bit builds) */

	if (get_func_namespace(aggref->aggfnoid) == catalog_namespace())
	{
		char	   *fname = get_func_name(aggref->aggfnoid);

		if (strcmp(fname, "count_distinct") == 0)
		{
			Oid			argtypes[2] = {INTERNALOID, ANYELEMENTOID};
			Oid			exactfn = catalog_funcid("distinct_add_exact", 2, argtypes);

			m->kind = AGG_KIND_DISTINCT;
			m->valuetype = inputTypes[0];
			m->hasexact = true;
			build_aggregate_transfn_expr(inputTypes, nargs, 0, false, m->transtype,
										 aggref->inputcollid, exactfn, InvalidOid, &expr, &expr2);
			fmgr_info_cxt(exactfn, &m->exacttransfn, cxt);
			fmgr_info_set_expr((Node *) expr, &m->exacttransfn);
		}
		else if (strcmp(fname, "percentile_sketch") == 0)
			m->kind = AGG_KIND_QUANTILE;
	}

	build_aggregate_transfn_expr(&m->transtype, 1, 0, false, m->transtype,
								 aggref->inputcollid, agg->aggcombinefn, InvalidOid,
								 &expr, NULL);
	fmgr_info_cxt(agg->aggcombinefn, &m->combinefn, cxt);
	fmgr_info_set_expr((Node *) expr, &m->combinefn);
	m->combinestrict = m->combinefn.fn_strict;
	m->fastcombine = aggmeta_fast_combines(m->fast, m->combinefn.fn_oid);

	/* (a type without binary I/O is refused by CREATE: cview_validate_aggref) */
	if (!m->internal)
		m->image = image_type_lookup(m->transtype);
	if (m->internal)
	{
		build_aggregate_serialfn_expr(agg->aggserialfn, &expr);
		fmgr_info_cxt(agg->aggserialfn, &m->serialfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->serialfn);
		build_aggregate_deserialfn_expr(agg->aggdeserialfn, &expr);
		fmgr_info_cxt(agg->aggdeserialfn, &m->deserialfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->deserialfn);
	}

	if (OidIsValid(agg->aggfinalfn))
	{
		m->hasfinal = true;
		m->nfinalargs = agg->aggfinalextra ? nargs + 1 : 1;
		build_aggregate_finalfn_expr(inputTypes, m->nfinalargs, m->transtype,
									 aggref->aggtype, aggref->inputcollid,
									 agg->aggfinalfn, &expr);
		fmgr_info_cxt(agg->aggfinalfn, &m->finalfn, cxt);
		fmgr_info_set_expr((Node *) expr, &m->finalfn);
		m->finalstrict = m->finalfn.fn_strict;
	}

	initdatum = SysCacheGetAttr(AGGFNOID, tup, Anum_pg_aggregate_agginitval, &initnull);
	m->initnull = initnull;
	if (!initnull)
	{
		Oid			typinput;
		Oid			typioparam;
		char	   *str = TextDatumGetCString(initdatum);

		getTypeInputInfo(m->transtype, &typinput, &typioparam);
		m->initval = OidInputFunctionCall(typinput, str, typioparam, -1);
	}
	m->compactelem = InvalidOid;
	m->compactn = 0;
	if (!m->internal && m->image->kind == IMAGE_ARRAY && m->translen == -1 && !m->initnull)
	{
		Oid			elem = get_element_type(m->transtype);
		ArrayType  *init = DatumGetArrayTypeP(m->initval);

		/* a state of a fixed number of 8-byte elements: avg's, float8_accum's, ... */
		if ((elem == INT8OID || elem == FLOAT8OID) && ARR_NDIM(init) == 1 &&
			ARR_DIMS(init)[0] > 0 && image_array_compact_fits(init, ARR_DIMS(init)[0]))
		{
			m->compactelem = elem;
			m->compactn = ARR_DIMS(init)[0];
		}
	}
	ReleaseSysCache(tup);
	MemoryContextSwitchTo(old);
}

/* The stand-in AggState whose aggregate context is cxt. */
static AggState *
agg_context(MemoryContext cxt)
{
	static AggState *fake = NULL;

	if (fake == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		fake = makeNode(AggState);
		fake->curaggcontext = makeNode(ExprContext);
		MemoryContextSwitchTo(old);
	}
	fake->curaggcontext->ecxt_per_tuple_memory = cxt;
	return fake;
}

/*
 * Keeps a new transition value returned by a support function: copied into
 * cxt (freeing the old one) unless it is the old value or an internal state,
 * which the function allocated in the aggregate context itself.
 */
static void
agg_keep(AggMeta *m, Datum *val, bool *isnull, Datum newval, bool newnull, MemoryContext cxt)
{
	if (!m->transbyval && !m->internal && !newnull && newval != *val)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		newval = datumCopy(newval, false, m->translen);
		MemoryContextSwitchTo(old);
		if (!*isnull && DatumGetPointer(*val) != NULL)
			pfree(DatumGetPointer(*val));
	}
	*val = newval;
	*isnull = newnull;
}

/* Sets a state to the aggregate's initial value (a copy in cxt). */
void
aggmeta_initial(AggMeta *m, Datum *val, bool *isnull, MemoryContext cxt)
{
	*isnull = m->initnull;
	if (m->initnull)
		*val = (Datum) 0;
	else if (m->transbyval)
		*val = m->initval;
	else
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		*val = datumCopy(m->initval, m->transbyval, m->translen);
		MemoryContextSwitchTo(old);
	}
}

/*
 * Folds one row's arguments into a state, with nodeAgg's rules for strict
 * transition functions.
 */
void
aggmeta_advance(AggMeta *m, FunctionCallInfo fcinfo, Datum *val, bool *isnull,
				MemoryContext cxt)
{
	Datum		newval;
	int			i;

	if (m->transstrict)
	{
		for (i = 1; i <= m->ntransargs; i++)
		{
			if (fcinfo->args[i].isnull)
				return;
		}
		if (*isnull)
		{
			/* the first non-null input becomes the state */
			MemoryContext old = MemoryContextSwitchTo(cxt);

			*val = datumCopy(fcinfo->args[1].value, m->transbyval, m->translen);
			*isnull = false;
			MemoryContextSwitchTo(old);
			return;
		}
	}
	fcinfo->args[0].value = *val;
	fcinfo->args[0].isnull = *isnull;
	fcinfo->context = (Node *) agg_context(cxt);
	fcinfo->isnull = false;
	newval = FunctionCallInvoke(fcinfo);
	agg_keep(m, val, isnull, newval, fcinfo->isnull, cxt);
}

/*
 * Combines the serialized non-NULL state b into the serialized non-NULL
 * state a, in place, both len bytes (their images' bytes, see
 * states_image), for the aggregates of AggMeta.fastcombine: what the
 * combine function computes, with its overflow error. With "check", only
 * says whether it can: a's and b's bytes are of the form it expects.
 */
bool
aggmeta_combine_image_fast(AggMeta *m, char *a, const char *b, uint32 len, bool check)
{
	if (!m->fastcombine)
		return false;
	switch (m->fast)
	{
		case AGG_FAST_INT8INC:
		case AGG_FAST_INT4_SUM:
			{
				/* int8pl */
				int64		x;
				int64		y;

				if (len != sizeof(int64) || m->translen != sizeof(int64))
					return false;
				if (check)
					return true;
				memcpy(&x, a, sizeof(int64));
				memcpy(&y, b, sizeof(int64));
				if (unlikely(pg_add_s64_overflow(x, y, &x)))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("bigint out of range")));
				memcpy(a, &x, sizeof(int64));
				return true;
			}
		case AGG_FAST_INT4_SMALLER:
		case AGG_FAST_INT4_LARGER:
			{
				int32		x;
				int32		y;

				if (len != sizeof(int32) || m->translen != sizeof(int32))
					return false;
				if (check)
					return true;
				memcpy(&x, a, sizeof(int32));
				memcpy(&y, b, sizeof(int32));
				if (m->fast == AGG_FAST_INT4_SMALLER ? y < x : y > x)
					memcpy(a, &y, sizeof(int32));
				return true;
			}
		case AGG_FAST_INT8_SMALLER:
		case AGG_FAST_INT8_LARGER:
			{
				int64		x;
				int64		y;

				if (len != sizeof(int64) || m->translen != sizeof(int64))
					return false;
				if (check)
					return true;
				memcpy(&x, a, sizeof(int64));
				memcpy(&y, b, sizeof(int64));
				if (m->fast == AGG_FAST_INT8_SMALLER ? y < x : y > x)
					memcpy(a, &y, sizeof(int64));
				return true;
			}
		case AGG_FAST_INT4_AVG:
			{
				/* int4_avg_combine: {count, sum} as int8[2], added without checks */
				Size		hdr = ARR_OVERHEAD_NONULLS(1);
				ArrayType	h;
				int			dim;
				int64		x[2];
				int64		y[2];

				if (len == IMAGE_ARRAY_COMPACT_SIZE(2) && m->compactn == 2 &&
					(uint8) a[0] == IMAGE_ARRAY_TAG && (uint8) b[0] == IMAGE_ARRAY_TAG)
				{
					/* both compact (aggmeta_serialize): the elements after the tag */
					if (check)
						return true;
					memcpy(x, a + 1, sizeof(x));
					memcpy(y, b + 1, sizeof(y));
					x[0] += y[0];
					x[1] += y[1];
					memcpy(a + 1, x, sizeof(x));
					return true;
				}
				if (len != hdr + 2 * sizeof(int64) || memcmp(a, b, hdr) != 0)
					return false;
				memcpy(&h, a, sizeof(ArrayType));
				memcpy(&dim, a + sizeof(ArrayType), sizeof(int));
				if (VARATT_IS_EXTENDED(&h) || VARSIZE(&h) != len || h.ndim != 1 ||
					h.dataoffset != 0 || h.elemtype != INT8OID || dim != 2)
					return false;
				if (check)
					return true;
				memcpy(x, a + hdr, sizeof(x));
				memcpy(y, b + hdr, sizeof(y));
				x[0] += y[0];
				x[1] += y[1];
				memcpy(a + hdr, x, sizeof(x));
				return true;
			}
		case AGG_FAST_NONE:
			break;
	}
	return false;
}

/*
 * Combines state "in" into state *val (kept in cxt).
 */
void
aggmeta_combine(AggMeta *m, Datum *val, bool *isnull, Datum in, bool innull, MemoryContext cxt)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		newval;

	if (m->combinestrict)
	{
		if (innull)
			return;
		if (*isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			*val = datumCopy(in, m->transbyval, m->translen);
			*isnull = false;
			MemoryContextSwitchTo(old);
			return;
		}
	}
	InitFunctionCallInfoData(*fcinfo, &m->combinefn, 2, m->collation,
							 (Node *) agg_context(cxt), NULL);
	fcinfo->args[0].value = *val;
	fcinfo->args[0].isnull = *isnull;
	fcinfo->args[1].value = in;
	fcinfo->args[1].isnull = innull;
	newval = FunctionCallInvoke(fcinfo);
	agg_keep(m, val, isnull, newval, fcinfo->isnull, cxt);
}

/* A state's serialized form, as a bytea in the current context. */
bytea *
aggmeta_serialize(AggMeta *m, Datum val)
{
	bytea	   *out;

	if (m->internal)
	{
		LOCAL_FCINFO(fcinfo, 1);

		InitFunctionCallInfoData(*fcinfo, &m->serialfn, 1, InvalidOid,
								 (Node *) agg_context(CurrentMemoryContext), NULL);
		fcinfo->args[0].value = val;
		fcinfo->args[0].isnull = false;
		return DatumGetByteaPP(FunctionCallInvoke(fcinfo));
	}
	if (m->transbyval)
	{
		out = palloc(VARHDRSZ + m->translen);
		SET_VARSIZE(out, VARHDRSZ + m->translen);
		store_att_byval(VARDATA(out), val, m->translen);
		return out;
	}
	if (m->image->kind == IMAGE_SEND)
	{
		/* the type's binary form, behind a tag (see image.c) */
		bytea	   *b = image_send(m->image, val);
		Size		len = VARSIZE(b) - VARHDRSZ;

		out = palloc(VARHDRSZ + 1 + len);
		SET_VARSIZE(out, VARHDRSZ + 1 + len);
		*VARDATA(out) = IMAGE_SEND_TAG;
		memcpy(VARDATA(out) + 1, VARDATA(b), len);
		pfree(b);
		return out;
	}
	if (OidIsValid(m->compactelem))
	{
		ArrayType  *a = DatumGetArrayTypeP(val);

		/* an array of 8-byte elements: only they, behind a tag (image.h) */
		if (image_array_compact_fits(a, m->compactn))
		{
			out = palloc(VARHDRSZ + IMAGE_ARRAY_COMPACT_SIZE(m->compactn));
			SET_VARSIZE(out, VARHDRSZ + IMAGE_ARRAY_COMPACT_SIZE(m->compactn));
			image_array_compact_write(VARDATA(out), a, m->compactn);
			return out;
		}
	}
	if (m->translen == -1)
	{
		struct varlena *v = pg_detoast_datum((struct varlena *) DatumGetPointer(val));
		Size		len = VARSIZE(v);

		out = palloc(VARHDRSZ + len);
		SET_VARSIZE(out, VARHDRSZ + len);
		memcpy(VARDATA(out), v, len);
		return out;
	}
	else
	{
		Size		len = datumGetSize(val, false, m->translen);

		out = palloc(VARHDRSZ + len);
		SET_VARSIZE(out, VARHDRSZ + len);
		memcpy(VARDATA(out), DatumGetPointer(val), len);
		return out;
	}
}

/*
 * The array a compact state (IMAGE_ARRAY_TAG) stands for, in cxt: the
 * bytes of as many elements as the aggregate's initial state has (any 8
 * bytes are an int8 or a float8), one dimension, lower bound 1, no NULLs.
 */
static Datum
aggmeta_compact_array(AggMeta *m, const char *data, int len, MemoryContext cxt)
{
	Size		size;
	ArrayType  *a;

	if (len != m->compactn * (int) sizeof(int64))
		image_corrupted(psprintf("serialized state of type %s", format_type_be(m->transtype)),
						psprintf("Its compact form holds %d bytes after its tag, not the %d of %d elements.",
								 len, m->compactn * (int) sizeof(int64), m->compactn));
	size = ARR_OVERHEAD_NONULLS(1) + (Size) len;
	a = (ArrayType *) MemoryContextAllocZero(cxt, size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = m->compactelem;
	ARR_DIMS(a)[0] = m->compactn;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), data, len);
	return PointerGetDatum(a);
}

/*
 * Restores a state from its serialized form, in cxt. The bytes may come from
 * anyone who calls lambda_catalog.merge or combine_states, so they are
 * checked before any function of the aggregate sees them: internal states by
 * its deserialization function (count(DISTINCT) sets must also be of the
 * aggregate's value type and collation), other states by image.c's rules.
 */
Datum
aggmeta_deserialize(AggMeta *m, const char *data, int len, MemoryContext cxt)
{
	if (len < 0)
		elog(ERROR, "serialized state of %d bytes", len);
	if (m->internal)
	{
		LOCAL_FCINFO(fcinfo, 2);
		bytea	   *b;
		Datum		result;

		if (m->kind == AGG_KIND_DISTINCT)
			sketch_distinct_check_header(data, len, m->valuetype, m->collation);
		b = palloc(VARHDRSZ + len);

		SET_VARSIZE(b, VARHDRSZ + len);
		memcpy(VARDATA(b), data, len);
		InitFunctionCallInfoData(*fcinfo, &m->deserialfn, 2, InvalidOid,
								 (Node *) agg_context(cxt), NULL);
		fcinfo->args[0].value = PointerGetDatum(b);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = (Datum) 0;
		fcinfo->args[1].isnull = false;
		result = FunctionCallInvoke(fcinfo);
		pfree(b);
		return result;
	}
	if (m->transbyval)
	{
		image_check_datum(m->image, data, len);
		return image_fetch_byval(data, m->translen);
	}
	if (m->image->kind == IMAGE_NONE)
		image_check_datum(m->image, data, len);	/* refuses */
	if (m->image->kind == IMAGE_SEND)
	{
		MemoryContext old;
		Datum		result;

		if (len < 1 || (uint8) data[0] != IMAGE_SEND_TAG)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("serialized state of type %s is not in binary form", format_type_be(m->transtype)),
					 errdetail("pg_lambda before 0.4.0 kept such states as raw bytes, which cannot be checked."),
					 errhint("Run lambda.recompute() on the continuous view.")));
		old = MemoryContextSwitchTo(cxt);
		result = image_recv(m->image, data + 1, len - 1);
		MemoryContextSwitchTo(old);
		return result;
	}
	else if (OidIsValid(m->compactelem) && len >= 1 && (uint8) data[0] == IMAGE_ARRAY_TAG)
		return aggmeta_compact_array(m, data + 1, len - 1, cxt);
	else
	{
		/* checked in an aligned copy, which is what the functions will read */
		char	   *p = MemoryContextAlloc(cxt, len > 0 ? len : 1);

		memcpy(p, data, len);
		image_check_datum(m->image, p, len);
		return PointerGetDatum(p);
	}
}

/* The aggregate's result for a state. */
Datum
aggmeta_finalize(AggMeta *m, Datum val, bool isnull, bool *resnull)
{
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	Datum		result;
	int			i;

	if (!m->hasfinal)
	{
		*resnull = isnull;
		return val;
	}
	if (m->finalstrict && isnull)
	{
		*resnull = true;
		return (Datum) 0;
	}
	InitFunctionCallInfoData(*fcinfo, &m->finalfn, m->nfinalargs, m->collation,
							 (Node *) agg_context(CurrentMemoryContext), NULL);
	fcinfo->args[0].value = val;
	fcinfo->args[0].isnull = isnull;
	for (i = 1; i < m->nfinalargs; i++)
	{
		fcinfo->args[i].value = (Datum) 0;
		fcinfo->args[i].isnull = true;
	}
	result = FunctionCallInvoke(fcinfo);
	*resnull = fcinfo->isnull;
	return result;
}
