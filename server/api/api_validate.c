/* api_validate.c - field checks shared by every service's request validation. */
#include "api_validate.h"

#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

/* ISO 3166-1 alpha-2, space separated (a code is found with strstr on " XX "). */
static const char countries[] =
    " AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO"
    " BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ"
    " DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP"
    " GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG"
    " KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML"
    " MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE"
    " PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL"
    " SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM"
    " US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW ";

/* ISO 4217 currencies in use. */
static const char currencies[] =
    " AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN"
    " BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD"
    " FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY"
    " KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP"
    " MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR"
    " RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT"
    " TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR"
    " ZMW ZWG ";

/* Countries whose addresses have no postal code. */
static const char no_postal[] = " AE AG AO AW BF BI BJ BO BS BW BZ CD CF CG CI CK CM DJ DM ER"
                                " FJ GA GD GH GM GQ GY HK IE KI KM KN KP LY ML MO MR MW NR NU"
                                " QA RW SB SC SL SO SR ST SY TD TG TK TL TO TV UG VU YE ZW ";

/* Postal code formats of countries we know well: data, one row per country. */
typedef struct postal_format {
    const char *country;
    const char *regex; /* POSIX extended, anchored */
    const char *example;
} postal_format;

static const postal_format postal_formats[] = {
    {"US", "^[0-9]{5}(-[0-9]{4})?$", "12345 or 12345-6789"},
    {"CA", "^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]$", "K1A 0B1"},
    {"GB", "^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$", "SW1A 1AA"},
    {"DE", "^[0-9]{5}$", "10115"},
    {"FR", "^[0-9]{5}$", "75001"},
    {"IT", "^[0-9]{5}$", "00184"},
    {"ES", "^[0-9]{5}$", "28001"},
    {"NL", "^[0-9]{4} ?[A-Za-z]{2}$", "1012 AB"},
    {"BE", "^[0-9]{4}$", "1000"},
    {"AT", "^[0-9]{4}$", "1010"},
    {"CH", "^[0-9]{4}$", "8001"},
    {"PL", "^[0-9]{2}-[0-9]{3}$", "00-950"},
    {"SE", "^[0-9]{3} ?[0-9]{2}$", "114 55"},
    {"RU", "^[0-9]{6}$", "101000"},
    {"UA", "^[0-9]{5}$", "01001"},
    {"CN", "^[0-9]{6}$", "100000"},
    {"JP", "^[0-9]{3}-?[0-9]{4}$", "100-0001"},
    {"KR", "^[0-9]{5}$", "03187"},
    {"IN", "^[0-9]{6}$", "110001"},
    {"ID", "^[0-9]{5}$", "10110"},
    {"MY", "^[0-9]{5}$", "50000"},
    {"TH", "^[0-9]{5}$", "10200"},
    {"VN", "^[0-9]{6}$", "100000"},
    {"PH", "^[0-9]{4}$", "1000"},
    {"SG", "^[0-9]{6}$", "018956"},
    {"AU", "^[0-9]{4}$", "2000"},
    {"NZ", "^[0-9]{4}$", "6011"},
    {"BR", "^[0-9]{5}-?[0-9]{3}$", "01001-000"},
    {"MX", "^[0-9]{5}$", "06000"},
    {"TR", "^[0-9]{5}$", "34000"},
};

enum { N_POSTAL = sizeof(postal_formats) / sizeof(postal_formats[0]) };

static regex_t postal_regex[N_POSTAL];
static int postal_ok[N_POSTAL];
static pthread_once_t postal_once = PTHREAD_ONCE_INIT;

static void postal_compile(void)
{
    for (int i = 0; i < N_POSTAL; i++)
        postal_ok[i] = regcomp(&postal_regex[i], postal_formats[i].regex, REG_EXTENDED | REG_NOSUB) == 0;
}

ds_status api_validate_done(ds_error *err, const char *what)
{
    if (err == NULL || err->n_violations == 0)
        return DS_OK;
    return ds_error_set(err, DS_ERR_INVALID, "invalid %s: %s: %s", what, err->violations[0].field,
                        err->violations[0].description);
}

static bool in_list(const char *list, const char *code, size_t len)
{
    char key[8];

    if (code == NULL || strlen(code) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isupper((unsigned char)code[i]))
            return false;
    snprintf(key, sizeof(key), " %s ", code);
    return strstr(list, key) != NULL;
}

bool av_required(ds_error *err, const char *field, const char *s)
{
    if (s != NULL && s[0] != '\0')
        return true;
    ds_error_violation(err, field, "is required");
    return false;
}

/* Length of the UTF-8 sequence starting at s, or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

bool av_text(ds_error *err, const char *field, const char *s, size_t max, bool multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;

    if (s == NULL)
        return true;
    while (*p != '\0') {
        size_t n = utf8_len(p);
        if (n == 0) {
            ds_error_violation(err, field, "is not valid UTF-8");
            return false;
        }
        if (n == 1 && (*p < 0x20 || *p == 0x7f) && !(multiline && (*p == '\n' || *p == '\t'))) {
            ds_error_violation(err, field, "contains a control character (0x%02x)", *p);
            return false;
        }
        p += n;
        chars++;
    }
    if (chars > max) {
        ds_error_violation(err, field, "is %zu characters long; at most %zu allowed", chars, max);
        return false;
    }
    return true;
}

bool av_token(ds_error *err, const char *field, const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;

    if (len == 0 || len > max) {
        ds_error_violation(err, field, "must be 1 to %zu characters", max);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-') {
            ds_error_violation(err, field, "may contain only letters, digits and . _ : -");
            return false;
        }
    }
    return true;
}

bool av_uuid(ds_error *err, const char *field, const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    bool ok = s != NULL && strlen(s) == sizeof(shape) - 1;

    for (size_t i = 0; ok && i < sizeof(shape) - 1; i++)
        ok = shape[i] == '-' ? s[i] == '-' : isxdigit((unsigned char)s[i]) != 0;
    if (!ok)
        ds_error_violation(err, field, "must be an id as returned by the server (a UUID)");
    return ok;
}

bool av_is_country(const char *code)
{
    return in_list(countries, code, 2);
}

bool av_country(ds_error *err, const char *field, const char *code)
{
    if (av_is_country(code))
        return true;
    ds_error_violation(err, field, "must be an ISO 3166-1 alpha-2 country code such as \"DE\"");
    return false;
}

bool av_is_currency(const char *code)
{
    return in_list(currencies, code, 3);
}

bool av_currency(ds_error *err, const char *field, const char *code)
{
    if (av_is_currency(code))
        return true;
    ds_error_violation(err, field, "must be an ISO 4217 currency code such as \"USD\"");
    return false;
}

bool av_phone(ds_error *err, const char *field, const char *s)
{
    int digits = 0, parens = 0;
    bool ok = s != NULL && s[0] != '\0';

    for (size_t i = 0; ok && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isdigit(c))
            digits++;
        else if (c == '+')
            ok = i == 0;
        else if (c == '(')
            ok = parens++ == 0;
        else if (c == ')')
            ok = parens == 1 && digits > 0;
        else
            ok = (c == ' ' || c == '-' || c == '.') && digits > 0;
    }
    if (ok && digits >= 7 && digits <= 15)
        return true;
    ds_error_violation(err, field, "must be a phone number with 7 to 15 digits, e.g. \"+49 30 1234567\"");
    return false;
}

static bool postal_generic(const char *code)
{
    size_t len = strlen(code);

    if (len == 0 || len > 12)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)code[i]) && code[i] != ' ' && code[i] != '-')
            return false;
    return true;
}

bool av_postal_code(ds_error *err, const char *field, const char *country, const char *code)
{
    const char *c = code ? code : "";

    if (!av_is_country(country))
        return true; /* the country violation is reported on its own */
    if (c[0] == '\0' && in_list(no_postal, country, 2))
        return true;
    pthread_once(&postal_once, postal_compile);
    for (int i = 0; i < N_POSTAL; i++) {
        if (strcmp(postal_formats[i].country, country) != 0 || !postal_ok[i])
            continue;
        if (regexec(&postal_regex[i], c, 0, NULL, 0) == 0)
            return true;
        ds_error_violation(err, field, "is not a valid %s postal code (expected e.g. \"%s\")",
                           country, postal_formats[i].example);
        return false;
    }
    if (postal_generic(c))
        return true;
    ds_error_violation(err, field, "must be 1 to 12 letters, digits, spaces or dashes");
    return false;
}

bool av_money(ds_error *err, const char *field, const char *currency, int64_t units,
              int32_t nanos, bool non_negative)
{
    char sub[DS_ERROR_FIELD_MAX];

    snprintf(sub, sizeof(sub), "%s.currency_code", field);
    if (!av_currency(err, sub, currency))
        return false;
    snprintf(sub, sizeof(sub), "%s.nanos", field);
    if (nanos <= -1000000000 || nanos >= 1000000000) {
        ds_error_violation(err, sub, "must be between -999999999 and 999999999");
        return false;
    }
    if ((units > 0 && nanos < 0) || (units < 0 && nanos > 0)) {
        ds_error_violation(err, sub, "must have the same sign as units");
        return false;
    }
    if (non_negative && (units < 0 || nanos < 0)) {
        ds_error_violation(err, field, "must not be negative");
        return false;
    }
    return true;
}

bool av_range(ds_error *err, const char *field, int64_t v, int64_t min, int64_t max)
{
    if (v >= min && v <= max)
        return true;
    ds_error_violation(err, field, "must be between %lld and %lld", (long long)min, (long long)max);
    return false;
}

bool av_sha256_hex(ds_error *err, const char *field, const char *s)
{
    bool ok = s != NULL && strlen(s) == 64;

    for (size_t i = 0; ok && i < 64; i++)
        ok = isxdigit((unsigned char)s[i]) != 0;
    if (!ok)
        ds_error_violation(err, field, "must be a SHA-256 digest as 64 hex digits");
    return ok;
}

bool av_uri(ds_error *err, const char *field, const char *s, size_t max)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    bool ok = colon != NULL && colon > s && strlen(s) <= max && colon[1] != '\0';

    for (const char *p = s; ok && p < colon; p++)
        ok = isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.';
    ok = ok && isalpha((unsigned char)s[0]);
    for (const char *p = s; ok && *p != '\0'; p++)
        ok = (unsigned char)*p > 0x20 && (unsigned char)*p != 0x7f;
    if (!ok)
        ds_error_violation(err, field, "must be an absolute URI (scheme:...) of at most %zu bytes", max);
    return ok;
}

bool av_http_url(ds_error *err, const char *field, const char *s, size_t max)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    bool ok = s != NULL && strlen(s) <= max;

    if (ok) {
        u = curl_url();
        ok = u != NULL && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && host[0] != '\0';
        curl_free(scheme);
        curl_free(host);
        curl_url_cleanup(u);
    }
    if (!ok)
        ds_error_violation(err, field, "must be an http:// or https:// URL of at most %zu bytes", max);
    return ok;
}
