/* Device settings and listings, in every build: the spelling of settings;
 * what a missing loader, a loader without drivers and a device that does not
 * exist say; that auto never picks a software device and otherwise runs on
 * the CPU saying why; and the command line's --list-devices and --device
 * (argv[1] = nst).  test_gpu_transfer runs stylisations on a device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nst/nst.h"
#include "test_util.h"

static void test_settings(void)
{
    static const char *const good[] = {"", "auto", "cpu", "gpu", "gpu:0", "gpu:15"};
    static const char *const bad[] = {"GPU", "gpu:", "gpu:-1", "gpu:16", "gpu:1x", "cuda", "gpu:99999999999999"};
    nst_error err = {0};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(nst_device_setting_check(good[i], &err) == NST_OK, "'%s' refused: %s", good[i], err.message);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(nst_device_setting_check(bad[i], &err) == NST_ERR_INVALID && strstr(err.message, "auto, cpu, gpu or gpu:N"),
              "'%s': %s", bad[i], err.message);
    nst_params p;
    nst_params_init(&p, NST_MODEL_SQUEEZENET11);
    CHECK(nst_params_check(&p, &err) == NST_OK && p.device[0] == '\0', "default device: %s", err.message);
    snprintf(p.device, sizeof p.device, "gpu:x");
    CHECK(nst_params_check(&p, &err) == NST_ERR_INVALID, "nst_params_check took gpu:x");
    nst_device_choice choice;
    CHECK(nst_device_resolve("cpu", &choice, &err) == NST_OK && !choice.on_gpu, "cpu: %s", err.message);
    CHECK(nst_device_resolve("auto", &choice, &err) == NST_OK && (choice.on_gpu || strstr(choice.reason, "no usable GPU")),
          "auto: %s", err.message);
    CHECK(strcmp(nst_device_kind_name(NST_DEVICE_CPU), "cpu") == 0 &&
              strcmp(nst_device_kind_name((nst_device_kind)99), "unknown") == 0,
          "kind names");
}

static void test_auto_pick(void)
{
    nst_device_info d[4] = {{.kind = NST_DEVICE_CPU, .usable = 1}, {.kind = NST_DEVICE_INTEGRATED, .usable = 1},
                            {.kind = NST_DEVICE_DISCRETE, .usable = 0}, {.kind = NST_DEVICE_DISCRETE, .usable = 1}};
    CHECK(nst_device_auto_pick(d, 4) == 3, "auto takes the usable discrete GPU");
    CHECK(nst_device_auto_pick(d, 3) == 1, "then the integrated one");
    CHECK(nst_device_auto_pick(d, 1) == -1, "never a CPU device");
}

/* What the machine has: lavapipe in CI (a CPU device), maybe more. */
static void test_listing(void)
{
    nst_device_info devices[NST_MAX_DEVICES];
    int count = -1;
    nst_error err = {0};
    nst_status s = nst_device_list(devices, NST_MAX_DEVICES, &count, &err);
    nst_device_choice choice;
    if (!nst_device_backend_built()) {
        CHECK(s == NST_ERR_DEVICE && strstr(err.message, "built without Vulkan") && count == 0, "%s", err.message);
        CHECK(nst_device_resolve("gpu:0", &choice, &err) == NST_ERR_DEVICE &&
                  strstr(err.message, "built without Vulkan"),
              "gpu:0 without the backend: %s", err.message);
        return;
    }
    CHECK(s == NST_OK && count >= 1, "built with Vulkan: %d devices (%s); is mesa-vulkan-drivers installed?", count,
          err.message);
    for (int i = 0; i < count; i++)
        printf("gpu:%d %s (%s), %.2f GiB local, %.2f GiB available, usable %d\n", i, devices[i].name,
               nst_device_kind_name(devices[i].kind), devices[i].local_bytes / 1073741824.0,
               devices[i].budget_bytes / 1073741824.0, devices[i].usable);
    CHECK(nst_device_resolve("gpu:7", &choice, &err) == NST_ERR_DEVICE && strstr(err.message, "no such device") &&
              (count == 0 || strstr(err.message, devices[0].name)),
          "gpu:7 names the devices there are: %s", err.message);
    if (count >= 1)
        CHECK(nst_device_resolve("gpu:0", &choice, &err) == NST_OK && choice.on_gpu && choice.gpu.index == 0,
              "gpu:0 takes device 0 whatever its kind: %s", err.message);
    int pick = nst_device_auto_pick(devices, count);
    s = nst_device_resolve("gpu", &choice, &err);
    CHECK(pick >= 0 ? (s == NST_OK && choice.gpu.index == pick) : (s == NST_ERR_DEVICE && strstr(err.message, "no usable GPU")),
          "gpu with auto's pick %d: %s", pick, err.message);
}

/* Without a loader, and with a loader that finds no driver. */
static void test_no_loader_no_driver(void)
{
    if (!nst_device_backend_built())
        return;
    nst_device_info devices[NST_MAX_DEVICES];
    int count = -1;
    nst_error err = {0};
    nst_device_choice choice;
    setenv("NST_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    CHECK(nst_device_list(devices, NST_MAX_DEVICES, &count, &err) == NST_ERR_DEVICE &&
              strstr(err.message, "no Vulkan loader") && count == 0,
          "no loader: %s", err.message);
    CHECK(nst_device_resolve("gpu", &choice, &err) == NST_ERR_DEVICE && strstr(err.message, "no Vulkan loader"),
          "gpu without a loader: %s", err.message);
    CHECK(nst_device_resolve("auto", &choice, &err) == NST_OK && !choice.on_gpu &&
              strstr(choice.reason, "no Vulkan loader"),
          "auto without a loader: %s", choice.reason);
    unsetenv("NST_VULKAN_LIBRARY");
    /* Both spellings: loaders before 1.3.207 read only the first. */
    setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json", 1);
    setenv("VK_DRIVER_FILES", "/nonexistent/icd.json", 1);
    CHECK(nst_device_list(devices, NST_MAX_DEVICES, &count, &err) == NST_OK && count == 0, "no driver: %d, %s",
          count, err.message);
    CHECK(nst_device_resolve("gpu:7", &choice, &err) == NST_ERR_DEVICE && strstr(err.message, "no Vulkan device"),
          "gpu:7 without a driver: %s", err.message);
    unsetenv("VK_ICD_FILENAMES");
    unsetenv("VK_DRIVER_FILES");
}

/* Runs the command line; its stdout and stderr, and its exit status. */
static int run_cli(const char *nst, const char *args, char *out, size_t size)
{
    char command[2048];
    snprintf(command, sizeof command, "'%s' %s 2>&1", nst, args);
    FILE *f = popen(command, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli(const char *nst)
{
    char out[8192];
    int rc = run_cli(nst, "--list-devices", out, sizeof out);
    CHECK(rc == 0 && (strstr(out, "DEVICE") || strstr(out, "no GPU devices") || strstr(out, "no Vulkan devices")),
          "--list-devices: exit %d: %s", rc, out);
    setenv("NST_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", 1);
    rc = run_cli(nst, "--list-devices", out, sizeof out);
    unsetenv("NST_VULKAN_LIBRARY");
    CHECK(rc == 0 && strstr(out, "no GPU devices") && strstr(out, "runs on the CPU"),
          "--list-devices without a loader: exit %d: %s", rc, out);
    /* The device is checked before the pictures are read. */
    char pictures[2048], args[2560];
    snprintf(pictures, sizeof pictures, "--content '%s'", test_source_file("data/readme/chelsea.png"));
    snprintf(pictures + strlen(pictures), sizeof pictures - strlen(pictures),
             " --style '%s' --output /tmp/nst-test-gpu-devices.png", test_source_file("data/readme/starry_night.png"));
    snprintf(args, sizeof args, "%s --device gpu:7", pictures);
    rc = run_cli(nst, args, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--device") && (strstr(out, "no such device") || strstr(out, "no Vulkan device") ||
                                                  strstr(out, "built without Vulkan")),
          "--device gpu:7: exit %d: %s", rc, out);
    /* auto is the CPU, without a word about devices (the run stops at the
     * output's folder, after the device is resolved). */
    snprintf(args, sizeof args, "--content '%s' --style '%s' --output /nonexistent/nst-test.png",
             test_source_file("data/readme/chelsea.png"), test_source_file("data/readme/starry_night.png"));
    rc = run_cli(nst, args, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--output") && !strstr(out, "device") && !strstr(out, "GPU"),
          "--device auto: exit %d: %s", rc, out);
    snprintf(args, sizeof args, "%s --device gpu:x", pictures);
    rc = run_cli(nst, args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "auto, cpu, gpu or gpu:N"), "--device gpu:x: exit %d: %s", rc, out);
    /* A run names its device once; gpu:0 whatever its kind (lavapipe in CI). */
    if (nst_device_backend_built()) {
        snprintf(args, sizeof args, "%s --device gpu:0 --size 40 --iterations 2", pictures);
        rc = run_cli(nst, args, out, sizeof out);
        const char *runs_on = "nst: the objective runs on ", *said = strstr(out, runs_on);
        CHECK(rc == 0 && said && !strstr(said + 1, runs_on) && !strstr(said, "runs on CPU"),
              "--device gpu:0: exit %d: %s", rc, out);
        /* The memory plan was made for that device and names it. */
        char planned[300] = "";
        const char *name = said ? said + strlen(runs_on) : "";
        snprintf(planned, sizeof planned, " GiB on %.*s\n", (int)strcspn(name, "\n"), name);
        CHECK(said && strstr(out, "nst: memory: needs ") && strstr(out, planned), "--device gpu:0: no '%s' in %s",
              planned, out);
    }
    snprintf(args, sizeof args, "%s --device cpu --size 40 --iterations 2", pictures);
    rc = run_cli(nst, args, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "nst: the objective runs on CPU\n") && strstr(out, " GiB on CPU\n"),
          "--device cpu: exit %d: %s", rc, out);
}

int main(int argc, char **argv)
{
    test_settings();
    test_auto_pick();
    test_listing();
    test_no_loader_no_driver();
    if (argc > 1)
        test_cli(argv[1]);
    return test_finish("test_gpu_devices");
}
