/* api_checks.c - checks of value types several services accept: addresses
 * and return rules. */
#include "api_checks.h"

#include <stdio.h>
#include <string.h>

#include "api_validate.h"

enum { NAME_MAX_ = 200, NOTE_MAX = 1000 };

const char *api_field(char buf[DS_ERROR_FIELD_MAX], const char *prefix, const char *name)
{
    snprintf(buf, DS_ERROR_FIELD_MAX, "%s.%s", prefix, name);
    return buf;
}

static bool region_required(const char *country)
{
    static const char *const list[] = {"US", "CA", "CN", "AU", "BR", "MX", NULL};

    for (int i = 0; country != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], country) == 0)
            return true;
    return false;
}

void api_check_address(ds_error *err, const char *field, const Dropship__V1__Address *addr)
{
    char f[DS_ERROR_FIELD_MAX];

    if (av_required(err, api_field(f, field, "recipient_name"), addr->recipient_name))
        av_text(err, f, addr->recipient_name, NAME_MAX_, false);
    av_phone(err, api_field(f, field, "phone"), addr->phone);
    av_country(err, api_field(f, field, "country_code"), addr->country_code);
    if (region_required(addr->country_code))
        av_required(err, api_field(f, field, "region"), addr->region);
    av_text(err, api_field(f, field, "region"), addr->region, NAME_MAX_, false);
    if (av_required(err, api_field(f, field, "city"), addr->city))
        av_text(err, f, addr->city, NAME_MAX_, false);
    av_text(err, api_field(f, field, "district"), addr->district, NAME_MAX_, false);
    if (av_required(err, api_field(f, field, "street"), addr->street))
        av_text(err, f, addr->street, NOTE_MAX, true);
    av_postal_code(err, api_field(f, field, "postal_code"), addr->country_code, addr->postal_code);
}

void api_check_return_rules(ds_error *err, const char *field, const Dropship__V1__ReturnRules *r)
{
    char f[DS_ERROR_FIELD_MAX];

    av_range(err, api_field(f, field, "no_reason_return_days"), r->no_reason_return_days, 0, 365);
    av_range(err, api_field(f, field, "return_postage_payer"), r->return_postage_payer, 0, 3);
    av_text(err, api_field(f, field, "damaged_goods_policy"), r->damaged_goods_policy, NOTE_MAX,
            true);
    av_range(err, api_field(f, field, "warranty_days"), r->warranty_days, 0, 3650);
}
