package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/huduma-ke/huduma/catalog"
	"github.com/huduma-ke/huduma/menus"
)

// catalogCommand runs `huduma catalog import FILE` and `huduma catalog
// export [--format json|csv]`.
func catalogCommand(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "import":
		if len(args) != 2 {
			return errUsage
		}
		format, err := catalog.FormatFromPath(args[1])
		if err != nil {
			return err
		}
		f, err := os.Open(args[1])
		if err != nil {
			return fmt.Errorf("open catalog: %w", err)
		}
		defer f.Close()
		c, err := catalog.Decode(f, format)
		if err != nil {
			return fmt.Errorf("read %s: %w", args[1], err)
		}
		n, err := st.ImportCatalog(ctx, c)
		if err != nil {
			return fmt.Errorf("import catalog: %w", err)
		}
		log.Info("catalog imported", "services", n, "file", args[1])
		return nil
	case "export":
		format := "json"
		switch {
		case len(args) == 3 && args[1] == "--format":
			format = args[2]
		case len(args) != 1:
			return errUsage
		}
		c, err := st.ExportCatalog(ctx)
		if err != nil {
			return fmt.Errorf("export catalog: %w", err)
		}
		return catalog.Encode(stdout, c, format)
	}
	return errUsage
}

// printMenus prints the menu state machine, drawn from the same event
// table the gateway runs.
func printMenus(args []string, stdout io.Writer) error {
	format := "mermaid"
	switch {
	case len(args) == 2 && args[0] == "--format":
		format = args[1]
	case len(args) != 0:
		return errUsage
	}
	d, err := menus.Diagram(format)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, d)
	return err
}
