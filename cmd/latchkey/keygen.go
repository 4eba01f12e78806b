package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/clientkey"
)

func newKeygenCmd() *cobra.Command {
	var (
		dir   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an EC P-256 key pair for a public_key token",
		Long: `Writes a new EC P-256 (prime256v1) key pair as privateKey.pem (PKCS#8, mode
0600) and publicKey.pem, in the current directory or --out DIR. These are the
files the openssl recipe makes, and interchangeable with them:

  openssl ecparam -genkey -name prime256v1 -noout -out ec.pem
  openssl pkcs8 -topk8 -nocrypt -in ec.pem -out privateKey.pem
  openssl ec -in privateKey.pem -pubout -out publicKey.pem

Give publicKey.pem to your Latchkey admin (or to "latchkey tokens create
--public-key"); keep privateKey.pem where your client runs, and nowhere else.
Existing files are kept unless --force.`,
		Example: `  latchkey keygen
  latchkey keygen --out ~/.config/printer7
  latchkey keygen && latchkey tokens create --name "printer 7" --public-key publicKey.pem --out printer7.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir != "." {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			k, err := clientkey.Generate()
			if err != nil {
				return err
			}
			p, err := clientkey.WritePair(dir, k, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s (private, mode 0600) and %s.\n", p.PrivateKeyPath, p.PublicKeyPath)
			fmt.Fprintf(cmd.ErrOrStderr(), "Next: latchkey tokens create --name NAME --public-key %s --out NAME.token\n", p.PublicKeyPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "out", ".", "directory to write the key files in (created if missing, mode 0700)")
	f.BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}
