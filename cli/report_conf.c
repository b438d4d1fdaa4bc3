/*
 * report_conf.c - who files the reports: the reporter's configuration.
 *
 * The same form as hashgate-milter.conf: "Key value" a line, '#' starts a
 * comment line and " #" a trailing comment, keys are case-insensitive,
 * the value is the rest of the line without its surrounding blanks, or
 * everything between double quotes (to hold a " #"). Every mistake (an unknown key, a
 * key given twice, a missing required one, a value of the wrong form) is
 * an error naming the file and line, so a report never goes out with a
 * default the operator did not mean.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report.h"
#include "util.h"

/* A value longer than this is a mistake (NCMEC's fields are short). */
#define REP_CONF_VALUE_MAX  4000

typedef struct {
    const char     *name;
    size_t          off;
    int             required;
} rep_conf_key_t;

#define K(n, f, r)  { n, offsetof(rep_conf_t, f), r }

static const rep_conf_key_t  _rep_conf_keys[] = {
    K("Company", company, 1),
    K("FirstName", first_name, 1),
    K("LastName", last_name, 1),
    K("Email", email, 1),
    K("Phone", phone, 0),
    K("CompanyTemplate", company_template, 0),
    K("TermsOfService", terms_of_service, 0),
    K("LegalURL", legal_url, 0),
    K("EspService", esp_service, 0),
    K("WebScheme", web_scheme, 0),
    K("Endpoint", endpoint, 0),
    K("Credentials", credentials, 0),
};

#define NKEYS  (sizeof(_rep_conf_keys) / sizeof(_rep_conf_keys[0]))

static char **
_rep_conf_slot(rep_conf_t *c, size_t i)
{
    return (char **) ((char *) c + _rep_conf_keys[i].off);
}

void
rep_conf_free(rep_conf_t *c)
{
    size_t  i;

    for (i = 0; i < NKEYS; i++) {
        free(*_rep_conf_slot(c, i));
    }
    memset(c, 0, sizeof(*c));
}

/* A value's own rules; NULL if it is fine, else why not. */
static const char *
_rep_conf_check(const char *key, const char *v)
{
    const unsigned char  *p;

    for (p = (const unsigned char *) v; *p != '\0'; p++) {
        if (*p < 0x20 && *p != '\t') {
            return "a control character in the value";
        }
    }
    if (strcasecmp(key, "Email") == 0
        && (strchr(v, '@') == NULL || strchr(v, ' ') != NULL))
    {
        return "not an email address";
    }
    if (strcasecmp(key, "WebScheme") == 0 && strcmp(v, "https") != 0
        && strcmp(v, "http") != 0)
    {
        return "WebScheme is https or http";
    }
    if ((strcasecmp(key, "LegalURL") == 0 || strcasecmp(key, "Endpoint") == 0)
        && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
    {
        return "not an http(s) URL";
    }
    if (strcasecmp(key, "Credentials") == 0 && v[0] != '/') {
        return "not an absolute path";
    }
    return NULL;
}

int
rep_conf_load(const char *path, rep_conf_t *c)
{
    FILE        *fp;
    char        *line = NULL, *k, *v, *e;
    size_t       cap = 0, i;
    ssize_t      len;
    unsigned     lineno = 0;
    unsigned     seen[NKEYS];
    const char  *why;

    memset(c, 0, sizeof(*c));
    memset(seen, 0, sizeof(seen));
    fp = fopen(path, "r");
    if (fp == NULL) {
        cli_error("%s: cannot open the reporter configuration: %s", path,
                  strerror(errno));
        return -1;
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (memchr(line, '\0', (size_t) len) != NULL) {
            cli_error("%s:%u: a NUL byte in the line", path, lineno);
            goto fail;
        }
        for (k = line; *k == ' ' || *k == '\t'; k++) {
        }
        if (*k == '\0' || *k == '#') {
            continue;
        }
        for (v = k; *v != '\0' && *v != ' ' && *v != '\t'; v++) {
        }
        if (*v != '\0') {
            *v++ = '\0';
        }
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        if (*v == '"') {
            /* quoted: the value is all up to the closing quote */
            if ((e = strchr(v + 1, '"')) == NULL) {
                cli_error("%s:%u: a quote that does not end", path, lineno);
                goto fail;
            }
            *e++ = '\0';
            v++;
            while (*e == ' ' || *e == '\t' || *e == '\r') {
                e++;
            }
            if (*e != '\0' && *e != '#') {
                cli_error("%s:%u: text after the quoted value", path, lineno);
                goto fail;
            }
        } else {
            /* " #" starts a trailing comment */
            for (e = v; *e != '\0'; e++) {
                if (*e == '#' && e > v && (e[-1] == ' ' || e[-1] == '\t')) {
                    *e = '\0';
                    break;
                }
            }
            for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'
                                              || e[-1] == '\r'); e--) {
            }
            *e = '\0';
        }
        for (i = 0; i < NKEYS; i++) {
            if (strcasecmp(k, _rep_conf_keys[i].name) == 0) {
                break;
            }
        }
        if (i == NKEYS) {
            cli_error("%s:%u: unknown setting \"%s\"", path, lineno, k);
            goto fail;
        }
        if (seen[i]) {
            cli_error("%s:%u: %s given twice (first on line %u)", path,
                      lineno, _rep_conf_keys[i].name, seen[i]);
            goto fail;
        }
        if (*v == '\0') {
            cli_error("%s:%u: %s has no value", path, lineno,
                      _rep_conf_keys[i].name);
            goto fail;
        }
        if (strlen(v) > REP_CONF_VALUE_MAX) {
            cli_error("%s:%u: %s is longer than %d bytes", path, lineno,
                      _rep_conf_keys[i].name, REP_CONF_VALUE_MAX);
            goto fail;
        }
        if ((why = _rep_conf_check(k, v)) != NULL) {
            cli_error("%s:%u: %s: %s", path, lineno, _rep_conf_keys[i].name,
                      why);
            goto fail;
        }
        seen[i] = lineno;
        if ((*_rep_conf_slot(c, i) = strdup(v)) == NULL) {
            cli_error("%s: out of memory", path);
            goto fail;
        }
    }
    if (ferror(fp)) {
        cli_error("%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    for (i = 0; i < NKEYS; i++) {
        if (_rep_conf_keys[i].required && !seen[i]) {
            cli_error("%s: %s is required (who files the reports)", path,
                      _rep_conf_keys[i].name);
            goto fail;
        }
    }
    if (c->web_scheme == NULL && (c->web_scheme = strdup("https")) == NULL) {
        cli_error("%s: out of memory", path);
        goto fail;
    }
    free(line);
    fclose(fp);
    return 0;

fail:
    free(line);
    fclose(fp);
    rep_conf_free(c);
    return -1;
}
