/* test_config.c - dropshipd settings: defaults, environment, flags, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ds_config.h"
#include "ds_log.h"

static const char *const all_env[] = {"DROPSHIP_DATABASE_URL",   "DROPSHIP_LISTEN",
                                      "DROPSHIP_CQ_THREADS",     "DROPSHIP_HANDLER_THREADS",
                                      "DROPSHIP_DB_POOL_SIZE",   "DROPSHIP_STATEMENT_TIMEOUT_MS",
                                      "DROPSHIP_MAX_RECV_BYTES", "DROPSHIP_SHUTDOWN_GRACE_MS",
                                      "DROPSHIP_MIGRATIONS_DIR", "DROPSHIP_LOG_LEVEL"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_env) / sizeof(all_env[0]); i++)
        unsetenv(all_env[i]);
    return 0;
}

/* Load from a NULL-terminated word list (argv[0] is added). */
static ds_status load(ds_config *cfg, ds_error *err, const char *const *words)
{
    char *argv[16] = {"dropshipd"};
    int argc = 1;

    while (words != NULL && words[argc - 1] != NULL && argc < 16) {
        argv[argc] = (char *)words[argc - 1];
        argc++;
    }
    ds_error_clear(err);
    return ds_config_load(cfg, argc, argv, err);
}

static void test_defaults_apply_when_nothing_is_set(void **state)
{
    ds_config cfg;
    ds_error err;

    assert_int_equal(load(&cfg, &err, NULL), DS_OK);
    assert_string_equal(cfg.database_url, "");
    assert_string_equal(cfg.listen, "127.0.0.1:50051");
    assert_int_equal(cfg.cq_threads, 0);
    assert_int_equal(cfg.handler_threads, 0);
    assert_int_equal(cfg.db_pool_size, 8);
    assert_int_equal(cfg.statement_timeout_ms, 5000);
    assert_int_equal(cfg.max_recv_bytes, 4194304);
    assert_int_equal(cfg.shutdown_grace_ms, 10000);
    assert_int_equal(cfg.log_level, DS_LOG_INFO);
    assert_true(strlen(cfg.migrations_dir) > 0);
    assert_int_equal(cfg.n_args, 0);
    assert_int_equal(ds_config_need_database(&cfg, &err), DS_ERR_CONFIG);
    assert_non_null(strstr(err.message, "--database-url"));
}

static void test_environment_sets_values(void **state)
{
    ds_config cfg;
    ds_error err;

    setenv("DROPSHIP_DATABASE_URL", "postgresql:///shop", 1);
    setenv("DROPSHIP_DB_POOL_SIZE", "3", 1);
    setenv("DROPSHIP_LISTEN", "0.0.0.0:7000", 1);
    setenv("DROPSHIP_LOG_LEVEL", "warn", 1);
    assert_int_equal(load(&cfg, &err, NULL), DS_OK);
    assert_string_equal(cfg.database_url, "postgresql:///shop");
    assert_int_equal(cfg.db_pool_size, 3);
    assert_string_equal(cfg.listen, "0.0.0.0:7000");
    assert_int_equal(cfg.log_level, DS_LOG_WARN);
    assert_int_equal(ds_config_need_database(&cfg, &err), DS_OK);
}

static void test_flag_overrides_environment(void **state)
{
    static const char *const words[] = {"--db-pool-size", "5", "migrate", "--listen=127.0.0.1:0",
                                        NULL};
    ds_config cfg;
    ds_error err;

    setenv("DROPSHIP_DB_POOL_SIZE", "3", 1);
    setenv("DROPSHIP_LISTEN", "0.0.0.0:7000", 1);
    assert_int_equal(load(&cfg, &err, words), DS_OK);
    assert_int_equal(cfg.db_pool_size, 5);
    assert_string_equal(cfg.listen, "127.0.0.1:0");
    assert_int_equal(cfg.n_args, 1);
    assert_string_equal(cfg.args[0], "migrate");
}

static void expect_rejected(const char *const *words, const char *needle)
{
    ds_config cfg;
    ds_error err;

    assert_int_equal(load(&cfg, &err, words), DS_ERR_CONFIG);
    if (strstr(err.message, needle) == NULL)
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, needle);
}

static void test_bad_values_are_rejected_naming_the_setting(void **state)
{
    static const char *const pool_word[] = {"--db-pool-size", "many", NULL};
    static const char *const pool_zero[] = {"--db-pool-size=0", NULL};
    static const char *const pool_trail[] = {"--db-pool-size=4x", NULL};
    static const char *const listen_noport[] = {"--listen", "localhost", NULL};
    static const char *const listen_big[] = {"--listen", "localhost:70000", NULL};
    static const char *const level[] = {"--log-level", "loud", NULL};
    static const char *const missing[] = {"--statement-timeout-ms", NULL};

    expect_rejected(pool_word, "--db-pool-size");
    expect_rejected(pool_zero, "DROPSHIP_DB_POOL_SIZE");
    expect_rejected(pool_trail, "--db-pool-size");
    expect_rejected(listen_noport, "--listen");
    expect_rejected(listen_big, "DROPSHIP_LISTEN");
    expect_rejected(level, "--log-level");
    expect_rejected(missing, "--statement-timeout-ms");
    setenv("DROPSHIP_MAX_RECV_BYTES", "-1", 1);
    expect_rejected(NULL, "DROPSHIP_MAX_RECV_BYTES");
}

static void test_unknown_flag_is_rejected(void **state)
{
    static const char *const long_flag[] = {"--databse-url", "x", NULL};
    static const char *const short_flag[] = {"-x", NULL};

    expect_rejected(long_flag, "--databse-url");
    expect_rejected(short_flag, "-x");
}

static void test_help_version_and_double_dash(void **state)
{
    static const char *const words[] = {"admin", "--help", "--version", "--", "--not-a-flag", NULL};
    ds_config cfg;
    ds_error err;

    assert_int_equal(load(&cfg, &err, words), DS_OK);
    assert_true(cfg.help);
    assert_true(cfg.version);
    assert_int_equal(cfg.n_args, 2);
    assert_string_equal(cfg.args[1], "--not-a-flag");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_apply_when_nothing_is_set, clear_env),
        cmocka_unit_test_setup(test_environment_sets_values, clear_env),
        cmocka_unit_test_setup(test_flag_overrides_environment, clear_env),
        cmocka_unit_test_setup(test_bad_values_are_rejected_naming_the_setting, clear_env),
        cmocka_unit_test_setup(test_unknown_flag_is_rejected, clear_env),
        cmocka_unit_test_setup(test_help_version_and_double_dash, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
