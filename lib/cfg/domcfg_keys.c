/* domcfg_keys.c — xl.cfg(5) keys airlock knows of but does not implement
 * yet (see domcfg_int.h). A config written for xl loads with a warning for
 * each of them instead of failing; docs/config.md lists them.
 */
#include "cfg/domcfg_int.h"

#include <stdlib.h>
#include <string.h>

static const char WHY0[] = "the engine's platform defaults are used";
static const char WHY1[] = "a Xen hypervisor setting with no equivalent here";
static const char WHY2[] = "airlock builds the engine's command line itself";
static const char WHY3[] = "it is for PV guests; airlock runs HVM guests";
static const char WHY4[] = "vCPU placement and scheduling are not supported yet";
static const char WHY5[] = "this device is not supported yet";
static const char WHY6[] = "an Arm-only setting";
static const char WHY7[] = "device passthrough is not supported";
static const char WHY8[] = "no graphical console yet (airlock console gives the serial line)";
static const char WHY9[] = "migration is not supported yet";
static const char WHY10[] = "this lifecycle event is not supported yet";

/* Sorted by key (bsearch). */
const struct domcfg_xl_key domcfg_xl_keys[] = {
	{"acpi", WHY0, 1},
	{"acpi_firmware", WHY0, -1},
	{"acpi_laptop_slate", WHY0, 0},
	{"acpi_s3", WHY0, -1},
	{"acpi_s4", WHY0, -1},
	{"altp2m", WHY1, -1},
	{"altp2mhvm", WHY1, 0},
	{"apic", WHY0, 1},
	{"bios_path_override", WHY2, -1},
	{"bootloader", WHY3, -1},
	{"bootloader_args", WHY3, -1},
	{"cap", WHY4, 0},
	{"channel", WHY5, -1},
	{"cpu_weight", WHY4, -1},
	{"cpuid", WHY0, -1},
	{"cpus", WHY4, -1},
	{"cpus_soft", WHY4, -1},
	{"device_model", WHY2, -1},
	{"device_model_args", WHY2, -1},
	{"device_model_args_hvm", WHY2, -1},
	{"device_model_args_pv", WHY2, -1},
	{"device_model_override", WHY2, -1},
	{"device_model_stubdomain_seclabel", WHY1, -1},
	{"device_model_user", WHY1, -1},
	{"device_tree", WHY6, -1},
	{"direct_map", WHY1, -1},
	{"dm_restrict", WHY1, -1},
	{"driver_domain", WHY1, 0},
	{"dtdev", WHY7, -1},
	{"e820_host", WHY7, 0},
	{"firmware_override", WHY2, -1},
	{"gfx_passthru", WHY7, 0},
	{"gic_version", WHY6, -1},
	{"hap", WHY1, 1},
	{"hdtype", WHY5, -1},
	{"hpet", WHY0, 1},
	{"init_seclabel", WHY1, -1},
	{"iomem", WHY7, -1},
	{"ioports", WHY7, -1},
	{"irqs", WHY7, -1},
	{"keymap", WHY8, -1},
	{"llc_colors", WHY1, -1},
	{"localtime", WHY0, 0},
	{"max_event_channels", WHY1, -1},
	{"max_grant_frames", WHY1, -1},
	{"max_grant_version", WHY1, -1},
	{"max_maptrack_frames", WHY1, -1},
	{"mca_caps", WHY1, -1},
	{"mmio_hole", WHY1, -1},
	{"ms_vm_genid", WHY0, -1},
	{"msr_relaxed", WHY1, -1},
	{"nestedhvm", WHY0, 0},
	{"nographic", WHY8, 1},
	{"nomigrate", WHY9, -1},
	{"nx", WHY0, 1},
	{"on_soft_reset", WHY10, -1},
	{"on_watchdog", WHY10, -1},
	{"oos", WHY1, 1},
	{"opengl", WHY8, 0},
	{"p9", WHY5, -1},
	{"pae", WHY0, 1},
	{"passthrough", WHY7, -1},
	{"pci", WHY7, -1},
	{"pci_msitranslate", WHY7, -1},
	{"pci_permissive", WHY7, 0},
	{"pci_power_mgmt", WHY7, 0},
	{"pci_seize", WHY7, 0},
	{"pool", WHY1, -1},
	{"pvcalls", WHY5, -1},
	{"pvh", WHY3, 0},
	{"pvshim", WHY1, 0},
	{"pvshim_cmdline", WHY1, -1},
	{"pvshim_extra", WHY1, -1},
	{"pvshim_path", WHY1, -1},
	{"rdm", WHY7, -1},
	{"rdm_mem_boundary", WHY7, -1},
	{"rtc_timeoffset", WHY0, 0},
	{"sdl", WHY8, 0},
	{"seclabel", WHY1, -1},
	{"shadow_memory", WHY1, -1},
	{"smbios_firmware", WHY0, -1},
	{"soundhw", WHY5, -1},
	{"spice", WHY8, 0},
	{"spice_clipboard_sharing", WHY8, -1},
	{"spice_image_compression", WHY8, -1},
	{"spice_streaming_video", WHY8, -1},
	{"spiceagent_mouse", WHY8, -1},
	{"spicedisable_ticketing", WHY8, -1},
	{"spicehost", WHY8, -1},
	{"spicepasswd", WHY8, -1},
	{"spiceport", WHY8, -1},
	{"spicetls_port", WHY8, -1},
	{"spiceusbredirection", WHY8, -1},
	{"spicevdagent", WHY8, -1},
	{"stdvga", WHY8, 0},
	{"sve", WHY6, -1},
	{"tee", WHY6, -1},
	{"timer_mode", WHY1, -1},
	{"trap_unmapped_accesses", WHY1, -1},
	{"tsc_mode", WHY0, -1},
	{"usb", WHY5, 0},
	{"usbctrl", WHY5, -1},
	{"usbdev", WHY5, -1},
	{"usbdevice", WHY5, -1},
	{"usbversion", WHY5, -1},
	{"vdispl", WHY8, -1},
	{"vendor_device", WHY1, -1},
	{"vfb", WHY8, -1},
	{"vga", WHY8, -1},
	{"videoram", WHY8, -1},
	{"viridian", WHY0, 0},
	{"virtio", WHY5, -1},
	{"vkb", WHY8, -1},
	{"vkb_device", WHY8, -1},
	{"vmtrace_buf_kb", WHY1, -1},
	{"vnc", WHY8, 0},
	{"vncconsole", WHY8, 0},
	{"vncdisplay", WHY8, -1},
	{"vnclisten", WHY8, -1},
	{"vncpasswd", WHY8, -1},
	{"vncunused", WHY8, -1},
	{"vnuma", WHY4, -1},
	{"vpmu", WHY0, 0},
	{"vpt_align", WHY1, -1},
	{"vsnd", WHY5, -1},
	{"vtpm", WHY5, -1},
	{"vuart", WHY6, -1},
	{"xen_platform_pci", WHY1, 0},
};

const size_t domcfg_xl_key_count = sizeof(domcfg_xl_keys) / sizeof(domcfg_xl_keys[0]);

static int cmp_key(const void *key, const void *entry)
{
	return strcmp(key, ((const struct domcfg_xl_key *)entry)->key);
}

const struct domcfg_xl_key *domcfg_xl_key_find(const char *key)
{
	return bsearch(key, domcfg_xl_keys, domcfg_xl_key_count, sizeof(domcfg_xl_keys[0]),
		       cmp_key);
}
