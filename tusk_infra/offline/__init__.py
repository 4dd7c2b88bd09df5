"""Running the Pulumi program with no CLI, no cloud and no network: Pulumi's mock monitor."""
